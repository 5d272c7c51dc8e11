//! IEEE 802.11 data frames, bare (LINKTYPE_IEEE802_11) or behind a radiotap header
//! (LINKTYPE_IEEE802_11_RADIOTAP); also used for Aruba GRE.

use super::{Layer, Next, error, ether, skipped};

/// Radiotap header (radiotap.org "Radiotap header"): it_version (1) = 0, it_pad (1),
/// it_len (2, little-endian: the whole header length), then the present bitmaps and fields.
pub(super) fn radiotap(data: &[u8]) -> Next<'_> {
    let (Some(&0), Some(l0), Some(l1)) = (data.first(), data.get(2), data.get(3)) else {
        return error(Layer::Link);
    };
    let len = usize::from(u16::from_le_bytes([*l0, *l1]));
    match (len >= 8).then(|| data.get(len..)).flatten() {
        Some(frame) => Next::Ieee80211(frame),
        None => error(Layer::Link),
    }
}

/// Frame Control flags (IEEE 802.11-2020 §9.2.4.1).
const TO_DS: u8 = 0x01;
const FROM_DS: u8 = 0x02;
const MORE_FRAGMENTS: u8 = 0x04;
const PROTECTED: u8 = 0x40;
const ORDER: u8 = 0x80;

/// IEEE 802.11-2020 §9.3.2.1 data frame: Frame Control (2), Duration (2), Address 1–3 (18),
/// Sequence Control (2) = 24 bytes; plus Address 4 (6) when To DS and From DS are both set,
/// QoS Control (2) for QoS subtypes, and HT Control (4) when a QoS frame has the +HTC/Order
/// bit. Then an LLC/SNAP header with the EtherType. Management, control, null-data, protected
/// (encrypted), non-final fragments and A-MSDU frames carry nothing we can read. The fragment
/// number is not checked: Cisco CAPWAP frames put other bits there, and a last fragment fails
/// the LLC/SNAP check anyway.
pub(super) fn data_frame(frame: &[u8]) -> Next<'_> {
    match frame {
        [fc0, fc1, ..] => data_frame_fc(*fc0, *fc1, frame),
        _ => error(Layer::Link),
    }
}

/// [`data_frame`] with the two Frame Control bytes given apart (for senders that swap them).
pub(super) fn data_frame_fc(fc0: u8, fc1: u8, frame: &[u8]) -> Next<'_> {
    let (version, kind, subtype) = (fc0 & 0x03, (fc0 >> 2) & 0x03, fc0 >> 4);
    if version != 0 {
        return error(Layer::Link);
    }
    // Type 2 = Data; subtypes with bit 2 set carry no frame body (Null, QoS Null…).
    if kind != 2 || subtype & 0x04 != 0 || fc1 & (PROTECTED | MORE_FRAGMENTS) != 0 {
        return skipped();
    }
    let qos = subtype & 0x08 != 0;
    let mut len = 24;
    if fc1 & (TO_DS | FROM_DS) == TO_DS | FROM_DS {
        len += 6;
    }
    if qos {
        // QoS Control bit 7: A-MSDU present (subframes, not an LLC header).
        if frame.get(len).is_some_and(|b| b & 0x80 != 0) {
            return skipped();
        }
        len += 2;
        if fc1 & ORDER != 0 {
            len += 4;
        }
    }
    match frame.get(len..) {
        Some(body) => ether::llc(body),
        None => error(Layer::Link),
    }
}
