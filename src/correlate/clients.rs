//! Who a client is. By IP address by default; by MAC address with `--client-label mac`.
//!
//! In IP mode a dual-stack device is two addresses (it may look a name up over IPv4 and fetch the
//! pixel over IPv6); when the capture has Ethernet addresses, the addresses seen with the same MAC
//! are one device, named by its IPv4 address. A MAC that shows several IPv4 addresses is a
//! router's (a capture on the WAN side, or routed traffic): its addresses stay apart.
//!
//! DHCP messages seen on the wire name devices (host name, client identifier) by MAC address;
//! a DHCPACK also ties the leased address to the MAC, for captures whose packets carry no MAC.

use std::net::IpAddr;
use std::sync::Arc;

use crate::model::{ClientName, DhcpClient};

use crate::correlate::opens::ClientId;
use crate::flow::table::{BoundedMap, Idle};
use crate::model::Ts;

/// How long a MAC → address link is kept without traffic.
const DEVICE_KEEP: i64 = 3600 * Ts::MICROS_PER_SEC;

#[derive(Debug, Default)]
struct Device {
    ipv4: Option<IpAddr>,
    /// More than one IPv4 address was seen with this MAC: a router, not a device.
    shared: bool,
}

impl Idle for Device {
    fn idle_timeout(&self) -> i64 {
        DEVICE_KEEP
    }
}

/// How long a DHCP name is kept without being renewed or used (leases are hours; a day covers
/// a device that renews rarely).
const NAME_KEEP: i64 = 24 * 3600 * Ts::MICROS_PER_SEC;

struct Named(Arc<ClientName>);

impl Idle for Named {
    fn idle_timeout(&self) -> i64 {
        NAME_KEEP
    }
}

struct Leased([u8; 6]);

impl Idle for Leased {
    fn idle_timeout(&self) -> i64 {
        NAME_KEEP
    }
}

/// See the module documentation.
pub struct Clients {
    by_mac: bool,
    devices: BoundedMap<[u8; 6], Device>,
    names: BoundedMap<[u8; 6], Named>,
    leases: BoundedMap<IpAddr, Leased>,
}

impl Clients {
    pub fn new(by_mac: bool, capacity: usize) -> Clients {
        Clients {
            by_mac,
            devices: BoundedMap::new(capacity),
            names: BoundedMap::new(capacity),
            leases: BoundedMap::new(capacity),
        }
    }

    /// Learns a device's name from a DHCP message whose packet came from `src_mac`.
    pub fn dhcp(&mut self, d: &DhcpClient, src_mac: Option<[u8; 6]>, now: Ts) {
        // DHCPv4 carries the device's MAC; a DHCPv6 client's is the packet's source.
        let Some(mac) = d.mac.or(if d.from_client { src_mac } else { None }).filter(is_unicast) else { return };
        if let Some(addr) = d.addr {
            self.leases.insert(IpAddr::V4(addr), Leased(mac), now);
        }
        if d.host_name.is_none() && d.client_id.is_none() {
            return;
        }
        let known = self.names.get_mut(&mac, now).map(|n| n.0.clone());
        let mut name = known.as_deref().cloned().unwrap_or_default();
        if d.host_name.is_some() {
            name.host_name.clone_from(&d.host_name);
        }
        // A server's ACK echoes no identifier: keep the client's.
        if d.client_id.is_some() && d.from_client {
            name.dhcp_id.clone_from(&d.client_id);
        }
        if known.as_deref() != Some(&name) {
            self.names.insert(mac, Named(Arc::new(name)), now);
        }
    }

    /// The DHCP name of the device at `ip` (packet MAC `mac`), when one was seen.
    pub fn name(&mut self, ip: IpAddr, mac: Option<[u8; 6]>, now: Ts) -> Option<Arc<ClientName>> {
        if self.names.is_empty() {
            return None;
        }
        // A router's MAC (several IPv4 addresses) names nobody; then the lease decides.
        let own = mac.filter(is_unicast).filter(|m| !self.devices.peek(m).is_some_and(|d| d.shared));
        let mac = own.or_else(|| self.leases.peek(&ip).map(|l| l.0))?;
        self.names.get_mut(&mac, now).map(|n| n.0.clone())
    }

    /// The DHCP name of an open's client.
    pub fn name_of(&mut self, client: &ClientId, ip: IpAddr, now: Ts) -> Option<Arc<ClientName>> {
        match client {
            ClientId::Mac(mac) => self.name(ip, Some(*mac), now),
            ClientId::Ip(_) => self.name(ip, None, now),
        }
    }

    /// The client for a packet side with address `ip` and, when known, MAC `mac`.
    pub fn resolve(&mut self, ip: IpAddr, mac: Option<[u8; 6]>, now: Ts) -> ClientId {
        let Some(mac) = mac.filter(is_unicast) else { return ClientId::Ip(ip) };
        if self.by_mac {
            return ClientId::Mac(mac);
        }
        let device = self.devices.get_or_insert_with(mac, now, Device::default);
        if ip.is_ipv4() {
            match device.ipv4 {
                None => device.ipv4 = Some(ip),
                Some(known) if known != ip => device.shared = true,
                Some(_) => {}
            }
        }
        match device.ipv4 {
            Some(v4) if !device.shared => ClientId::Ip(v4),
            _ => ClientId::Ip(ip),
        }
    }
}

/// Group (multicast/broadcast) addresses are never one device.
fn is_unicast(mac: &[u8; 6]) -> bool {
    mac[0] & 1 == 0 && *mac != [0; 6]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAPTOP: [u8; 6] = [0x02, 0x99, 0, 0, 0, 0x64];
    const ROUTER: [u8; 6] = [0x02, 0x99, 0, 0, 0, 0x01];

    #[test]
    fn one_device_for_its_ipv4_and_ipv6_addresses_but_not_behind_a_router() {
        let mut c = Clients::new(false, 100);
        let v4: IpAddr = "10.99.0.100".parse().unwrap();
        let v6: IpAddr = "fd99::100".parse().unwrap();
        assert_eq!(c.resolve(v4, Some(LAPTOP), Ts(0)), ClientId::Ip(v4));
        assert_eq!(c.resolve(v6, Some(LAPTOP), Ts(1)), ClientId::Ip(v4), "the IPv6 address is the same device");
        assert_eq!(c.resolve(v6, None, Ts(1)), ClientId::Ip(v6), "without a MAC nothing links them");
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "10.0.0.3".parse().unwrap();
        assert_eq!(c.resolve(a, Some(ROUTER), Ts(2)), ClientId::Ip(a));
        assert_eq!(c.resolve(b, Some(ROUTER), Ts(3)), ClientId::Ip(b), "a MAC with two IPv4 addresses is a router");
        assert_eq!(c.resolve(a, Some(ROUTER), Ts(4)), ClientId::Ip(a));
        let mut m = Clients::new(true, 100);
        assert_eq!(m.resolve(v6, Some(LAPTOP), Ts(0)), ClientId::Mac(LAPTOP));
        assert_eq!(m.resolve(v6, Some([0xff; 6]), Ts(0)), ClientId::Ip(v6), "broadcast is nobody");
    }

    fn dhcp(name: &str, mac: [u8; 6], addr: Option<&str>, from_client: bool) -> DhcpClient {
        DhcpClient {
            mac: Some(mac),
            addr: addr.map(|a| a.parse().unwrap()),
            host_name: Some(name.into()),
            client_id: from_client.then(|| "01:02:99:00:00:00:64".into()),
            from_client,
        }
    }

    #[test]
    fn dhcp_names_devices_by_mac_and_lease_but_never_a_router() {
        let mut c = Clients::new(false, 100);
        let v4: IpAddr = "10.99.0.100".parse().unwrap();
        assert_eq!(c.name(v4, Some(LAPTOP), Ts(0)), None);
        c.dhcp(&dhcp("laptop", LAPTOP, None, true), Some(LAPTOP), Ts(1));
        let n = c.name(v4, Some(LAPTOP), Ts(2)).unwrap();
        assert_eq!(n.host_name.as_deref(), Some("laptop"));
        assert_eq!(n.dhcp_id.as_deref(), Some("01:02:99:00:00:00:64"));
        assert_eq!(c.name(v4, None, Ts(2)), None, "no MAC and no lease seen yet");
        // The server's ACK ties the address to the MAC and keeps the client's identifier.
        c.dhcp(&dhcp("laptop", LAPTOP, Some("10.99.0.100"), false), Some(ROUTER), Ts(3));
        let n = c.name(v4, None, Ts(4)).unwrap();
        assert_eq!(n.dhcp_id.as_deref(), Some("01:02:99:00:00:00:64"));
        // A router's MAC names nobody, even if the router itself did DHCP.
        c.dhcp(&dhcp("router", ROUTER, None, true), Some(ROUTER), Ts(5));
        c.resolve("10.0.0.2".parse().unwrap(), Some(ROUTER), Ts(6));
        c.resolve("10.0.0.3".parse().unwrap(), Some(ROUTER), Ts(6));
        let behind: IpAddr = "10.0.0.3".parse().unwrap();
        assert_eq!(c.name(behind, Some(ROUTER), Ts(7)), None);
        assert_eq!(c.name(v4, Some(ROUTER), Ts(7)).unwrap().host_name.as_deref(), Some("laptop"), "by its lease");
    }
}
