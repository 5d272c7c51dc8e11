#![no_main]
//! Fuzz target: the DNS extractor (`parse_message`) and the DNS-over-TCP framing helpers.
use libfuzzer_sys::fuzz_target;
use pixelwatch::extract::Outcome;
use pixelwatch::extract::dns::{parse_message, split_tcp_messages, tcp_message_needed};

fuzz_target!(|data: &[u8]| {
    if let Outcome::Found(m) = parse_message(data) {
        // Everything reported was read from the payload: bounded by its size.
        assert!(m.questions.len() * 5 <= data.len());
        assert!(m.answers.len() * 11 <= data.len());
        for name in m
            .questions
            .iter()
            .map(|q| &q.name)
            .chain(m.answers.iter().map(|a| &a.name))
        {
            assert!(!name.is_empty() && name.len() <= 4 * 255);
        }
    }
    let (messages, consumed) = split_tcp_messages(data);
    assert!(consumed <= data.len());
    // Yielded messages with their prefixes, plus 2 bytes per skipped empty message.
    let used: usize = messages.iter().map(|m| m.len() + 2).sum();
    assert!(used <= consumed && (consumed - used).is_multiple_of(2));
    if let Some(rest) = data.get(consumed..).filter(|r| !r.is_empty()) {
        assert!(tcp_message_needed(rest) > 0);
    }
    for m in messages {
        let _ = parse_message(m);
    }
});
