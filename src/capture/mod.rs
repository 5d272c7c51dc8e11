//! libpcap live capture and pcap/pcapng replay: the only code that needs privileges.
