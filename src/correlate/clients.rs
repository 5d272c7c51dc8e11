//! Who a client is. By IP address by default; by MAC address with `--client-label mac`.
//!
//! In IP mode a dual-stack device is two addresses (it may look a name up over IPv4 and fetch the
//! pixel over IPv6); when the capture has Ethernet addresses, the addresses seen with the same MAC
//! are one device, named by its IPv4 address. A MAC that shows several IPv4 addresses is a
//! router's (a capture on the WAN side, or routed traffic): its addresses stay apart.

use std::net::IpAddr;

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

/// See the module documentation.
pub struct Clients {
    by_mac: bool,
    devices: BoundedMap<[u8; 6], Device>,
}

impl Clients {
    pub fn new(by_mac: bool, capacity: usize) -> Clients {
        Clients { by_mac, devices: BoundedMap::new(capacity) }
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
}
