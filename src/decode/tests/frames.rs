//! Real frames cut from the corpus captures (named in each case), decoded and compared with
//! what tshark 4.0 reports for the innermost IP header and transport (`want`, taken from
//! `tshark -T fields -E occurrence=l`, payload length from `tcp.len` / `udp.length` - 8).

use super::{Case, run_cases};

/// One frame per link type found in the corpus.
const LINK_CASES: &[Case] = &[
    Case {
        // arkime__curl-enabled-tls13 frame 7: eth:ethertype:ip:tcp
        what: "ethernet-ipv4-tcp",
        linktype: 1,
        frame: concat!(
            "f61636bcf9c60250000000010800450000282eee400040062504c0a8410368107d22b62e01bb4faf96381afe6ad05010",
            "00e5a4710000",
        ),
        want: "TCP 192.168.65.3:46638 > 104.16.125.34:443 len=0",
    },
    Case {
        // arkime__dns-flags0110 frame 2: eth:ethertype:vlan:ethertype:ip:udp:dns
        what: "vlan-udp",
        linktype: 1,
        frame: concat!(
            "0019e2ba2fc1001ae3dc2ec0810001f4080045000049407900003d11fbec0a00000108080808f5d00035003539d25aae",
            "01100001000000000001057374617274067562756e747503636f6d00000100010000291000000080000000",
        ),
        want: "UDP 10.0.0.1:62928 > 8.8.8.8:53 len=45",
    },
    Case {
        // zeek__pppoe-over-qinq frame 3: eth:ethertype:vlan:ethertype:vlan:ethertype:pppoes:ppp:ip:tcp
        what: "qinq-pppoe-tcp",
        linktype: 1,
        frame: concat!(
            "00000000000100000000000081000e78810009aa886411000f07002a002145000028000040003f0635cb010101010202",
            "02024faa01bbd7a84156fc90a2ff501010008fda0000",
        ),
        want: "TCP 1.1.1.1:20394 > 2.2.2.2:443 len=0",
    },
    Case {
        // ndpi__dns frame 4: eth:ethertype:vlan:ethertype:vlan:ethertype:pppoes:ppp:ip:udp:dns
        what: "qinq-pppoe-udp",
        linktype: 1,
        frame: concat!(
            "000000000001d494e80eadc1810001a58100031188641100556a003f00214500003d00004000401184a152b271f552b2",
            "9eb5b89700350029b67d784301000001000000000000026537087768617473617070036e65740000010001",
        ),
        want: "UDP 82.178.113.245:47255 > 82.178.158.181:53 len=33",
    },
    Case {
        // sv__bug-4810__pppoe-session-http frame 3: eth:ethertype:pppoes:ppp:ip:tcp
        what: "pppoe-tcp",
        linktype: 1,
        frame: concat!(
            "000c2939f3c3000c29208ea188641100002d00352145000034000040004006ede20a6400008efab383deb50050d4bd76",
            "55502bc8dd80100202e87c00000101080acbae9275e1c6bc4f",
        ),
        want: "TCP 10.100.0.0:57013 > 142.250.179.131:80 len=0",
    },
    Case {
        // zeek__mixed-vlan-mpls frame 2: eth:ethertype:mpls:ip:tcp (60 bytes: 2 bytes of Ethernet padding)
        what: "mpls-tcp",
        linktype: 1,
        frame: concat!(
            "003096e6fc3900309605283888470001ddff45c0002800010000ff06a4ea0a0102010a2200012af9001798320ffc8dd5",
            "8ea55010102099d600000000",
        ),
        want: "TCP 10.1.2.1:11001 > 10.34.0.1:23 len=0",
    },
    Case {
        // ndpi__quic-v2 frame 5: sll:ethertype:ipv6:udp:quic
        what: "sll-ipv6-udp",
        linktype: 113,
        frame: concat!(
            "000003040006000000000000000086dd602b9aeb003f1140000000000000000000000000000000010000000000000000",
            "0000000000000001a466115b003f005208b844d6f71875fd1d36a1002e7d8ce120336da71ceea3c486de1221a9697157",
            "d7abf9eb045332107ee29df8128ba6e8f5608697a57bfb",
        ),
        want: "UDP ::1:42086 > ::1:4443 len=55",
    },
    Case {
        // sv__decode-sll2-01 frame 3: sll:ethertype:ip:tcp
        what: "sll2-tcp",
        linktype: 276,
        frame: concat!(
            "080000000000000200010406aa763071b0e700004500003445aa4000400670b7c0a801fdc0a80115dc9e00508b0b4394",
            "3264fcc5801001f6653900000101080ac5be8055129357cb",
        ),
        want: "TCP 192.168.1.253:56478 > 192.168.1.21:80 len=0",
    },
    Case {
        // zeek__tls__openjdk-25.0.2-zeek.org frame 3: sll:ethertype:ip:tcp
        what: "sll2-tcp-2",
        linktype: 276,
        frame: concat!(
            "080000000000000200010406fa37dc8dafab0000450000287ba840004006afe2c0a84006c0004e96d71201bb3a10e02f",
            "4fdb4e5c501001f60d540000",
        ),
        want: "TCP 192.168.64.6:55058 > 192.0.78.150:443 len=0",
    },
    Case {
        // zeek__dns-svcb frame 1: null:ip:udp:dns
        what: "null-udp",
        linktype: 0,
        frame: concat!(
            "0200000045000050b2660000401100007f0000017f000001e0cd0035003cfe4fc9640120000100000000000107657861",
            "6d706c6503636f6d0000400001000029100000000000000c000a0008ae4238d93c7c8538",
        ),
        want: "UDP 127.0.0.1:57549 > 127.0.0.1:53 len=52",
    },
    Case {
        // ndpi__bets frame 3: raw:ip:tcp
        what: "raw-tcp",
        linktype: 12,
        frame: concat!(
            "45000034000040004006fb23c0a80a020de06716eac301bb03eef1177cc243b080100804c3d500000101080a313350a5",
            "4a3bfd37",
        ),
        want: "TCP 192.168.10.2:60099 > 13.224.103.22:443 len=0",
    },
    Case {
        // sv__linktype-228__flow-test-01 frame 1: ip:tcp
        what: "ipv4-linktype-tcp",
        linktype: 228,
        frame: "45000028000100004006f97bc0a80002c0a800013ad101bb0000000a0000000050022000d1f80000",
        want: "TCP 192.168.0.2:15057 > 192.168.0.1:443 len=0",
    },
    Case {
        // sv__decode-chdlc-01__hdlc-http_1tx frame 3: chdlc:ip:tcp
        what: "chdlc-tcp",
        linktype: 104,
        frame: "0f00080045000028155f400080066cd3c0a80207413774b7134a00509c34096d155ded495010447036e40000",
        want: "TCP 192.168.2.7:4938 > 65.55.116.183:80 len=0",
    },
    Case {
        // zeek__wlanmon frame 1: wlan:llc:ip:udp:dns
        what: "wlan-udp",
        linktype: 105,
        frame: concat!(
            "88012c008a15149b5ae090724097b6f5442b03aaab8d10000600aaaa0300000008004500003fd68d00004011aea2ac11",
            "9c4cd043dcdcf12a0035002bc5dfa72f010000010000000000000763617074697665056170706c6503636f6d00000100",
            "010312c6a7",
        ),
        want: "UDP 172.17.156.76:61738 > 208.67.220.220:53 len=35",
    },
    Case {
        // arkime__80211http frame 3: radiotap:wlan_radio:wlan:llc:ip:tcp
        what: "radiotap-tcp",
        linktype: 127,
        frame: concat!(
            "000024002f4000a020080000000000006f1969280000000010169e09a000bc000000bc0008010201882593406b6ff8a9",
            "d01e90a3882593406b6f40b7aaaa03000000080045000034f932400040066137ac0505710e1120d3c109005096740dd7",
            "5bc513df80100559531f00000101080afffff4e7b037c381690f810c",
        ),
        want: "TCP 172.5.5.113:49417 > 14.17.32.211:80 len=0",
    },
    Case {
        // zeek__radiotap frame 1: radiotap:wlan_radio:wlan:llc:ip:udp:dns
        what: "radiotap-udp",
        linktype: 127,
        frame: concat!(
            "000030006b081c00e1615656000000001000a4154001b6a3014e349740010100a4156c221f0107000100000000000000",
            "88012c008a15149b5ae090724097b6f5442b03aaab8d10000600aaaa0300000008004500003fd68d00004011aea2ac11",
            "9c4cd043dcdcf12a0035002bc5dfa72f010000010000000000000763617074697665056170706c6503636f6d00000100",
            "010312c6a7",
        ),
        want: "UDP 172.17.156.76:61738 > 208.67.220.220:53 len=35",
    },
    Case {
        // zeek__nflog-http frame 13: nflog:ip:tcp
        what: "nflog-tcp",
        linktype: 239,
        frame: concat!(
            "0200002a080001000000030005000a000000000008000500000000022c00090045000028247f40004006d4670a00020f",
            "5db8d822c26200503f32bb224377824650107d786dad0000",
        ),
        want: "TCP 10.0.2.15:49762 > 93.184.216.34:80 len=0",
    },
    Case {
        // zeek__dns-inverse-query frame 3: fddi:llc:ip:tcp
        what: "fddi-tcp",
        linktype: 10,
        frame: concat!(
            "50aa00040083a7aa00040082a7aaaa03000000080045000028e37940003306a147d4b42a6483f3400361a80035b909d8",
            "3ef9faf9f950103ebcc6ee0000",
        ),
        want: "TCP 212.180.42.100:25000 > 131.243.64.3:53 len=0",
    },
    Case {
        // arkime__curl-enabled-tls13 frame 8: eth:ethertype:ip:tcp:tls
        what: "ethernet-ipv4-tcp-payload",
        linktype: 1,
        frame: concat!(
            "f61636bcf9c602500000000108004500022d2eef4000400622fec0a8410368107d22b62e01bb4faf96381afe6ad05018",
            "00e5abee00001603010200010001fc0303896833458d7827917b0deb0813ebd3ebf3bc731018ee722dc10e502eb72f9f",
            "bd20002ec375729614262a240f08055b7ef2a11799c7f032a7f5838890823f079bfc000813021303130100ff010001ab",
            "000000160014000011656e61626c65642e746c7331332e636f6d000b000403000102000a000c000a001d0017001e0019",
            "0018337400000010000e000c02683208687474702f312e31001600000017000000310000000d001e001c040305030603",
            "080708080809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d0020a3fde1",
            "f9062b99be7617356eda87a4632172eddfb7c44c4aa418e963a0351f05001500fa000000000000000000000000000000",
            "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        ),
        want: "TCP 192.168.65.3:46638 > 104.16.125.34:443 len=517",
    },
];

/// One frame per tunnel found in the corpus (the innermost IP header is reported).
const TUNNEL_CASES: &[Case] = &[
    Case {
        // sv__bug-2576-01-ips__temp6 frame 3: eth:ethertype:ip:gre:eth:ethertype:ip:tcp
        what: "gre-ethernet",
        linktype: 1,
        frame: concat!(
            "000c2927dc8f000c299bc77108004500004e0d714000402fab94c0a80017c0a8001400006558ac7409f56d450050569e",
            "6e8008004500002817f340004006279f0a5f30e10ed7b127a51e005027ef4f352817730350106a4092a80000",
        ),
        want: "TCP 10.95.48.225:42270 > 14.215.177.39:80 len=0",
    },
    Case {
        // zeek__erspan frame 9: eth:ethertype:ip:gre:eth:ethertype:ipv6:udp:dhcpv6
        what: "gre-key-ethernet-ipv6",
        linktype: 1,
        frame: concat!(
            "000c2940d0ad00211c2e41460800450000b9d14b00003f2f93580ac800030ac800e02000655802000000333300010002",
            "0050568208d186dd6000000000671101fe8000000000000034f7703dac0543d6ff020000000000000000000000010002",
            "022202230067e662018e866d0008000202bc0001000e000100011d110a8c0050568208d10003000c0e00505600000000",
            "000000000027001100055446445350027370056c6f63616c000010000e0000013700084d53465420352e300006000800",
            "18001700110027",
        ),
        want: "UDP fe80::34f7:703d:ac05:43d6:546 > ff02::1:2:547 len=95",
    },
    Case {
        // sv__bug-5437-01 frame 1: eth:ethertype:ip:gre:erspan:eth:ethertype:ip:tcp:http
        what: "erspan2",
        linktype: 1,
        frame: concat!(
            "0000000000000cd0f88c677d0800450001568db40000fe2fd2c97a508f2e83cb62f3100088be00000000100600060000",
            "0014002052ff03036c310e2a01230800450001246c7440003606bf73b7ab6481011308d5ea220050aa1a4a03043ce847",
            "80190447d95b00000101080a00ffdac93d27ee73474554202f7368656c6c3f63642b2f746d703b726d2b2d72662b2a3b",
            "776765742b20687474703a2f2f32332e39342e372e3137352f2e7334792f61726d3b73682b2f746d702f61726d204854",
            "54502f312e310d0a557365722d4167656e743a2048656c6c6f2c20776f726c640d0a486f73743a203132372e302e302e",
            "313a38300d0a4163636570743a20746578742f68746d6c2c6170706c69636174696f6e2f7868746d6c2b786d6c2c6170",
            "706c69636174696f6e2f786d6c3b713d302e392c696d6167652f776562702c2a2f2a3b713d302e380d0a436f6e6e6563",
            "74696f6e3a206b6565702d616c6976650d0a0d0a",
        ),
        want: "TCP 183.171.100.129:59938 > 1.19.8.213:80 len=240",
    },
    Case {
        // zeek__tunnels__gre-pptp frame 1 (4in6, then PPTP enhanced GRE): eth:ethertype:vlan:ethertype:ipv6:ip:gre:ppp:ip:udp:dns
        what: "gre-pptp-4in6",
        linktype: 1,
        frame: concat!(
            "c500000082c400121ef2613d8100006486dd60000000008b04f62402f00000018e0100000000000055552607fcd00100",
            "230000000000b1082a6b4500008b8caf0000402f75fe100000c8c034a69a3081880b0067178000068fb100083a76ff03",
            "002145000063000040003c115667ac102c03080808089f400035004f2d23a62c01000001000000000000357871742d64",
            "65746563742d6d6f6465322d39373731326538382d313637612d343562392d393365652d393133313430653736363738",
            "00001c0001",
        ),
        want: "UDP 172.16.44.3:40768 > 8.8.8.8:53 len=71",
    },
    Case {
        // zeek__tunnels__gre-aruba frame 1: eth:ethertype:vlan:ethertype:ip:gre:wlan:llc:ip:tcp
        what: "gre-aruba-wlan",
        linktype: 1,
        frame: concat!(
            "0011dc000001f05c19cfc8d68100012c0800450000624b030000ff2f2f840a0322ab0a210a170000820088010000f05c",
            "197c8d705c5f67022e7a0011dc000001807d0000aaaa030000000800450000286ea840008006b7e20a25245ccdb9d80a",
            "e65d005005e6e91bd4485b005011409695ff0000",
        ),
        want: "TCP 10.37.36.92:58973 > 205.185.216.10:80 len=0",
    },
    Case {
        // zeek__tunnels__gre-over-udp-4754 frame 7: eth:ethertype:ip:udp:gre:ip:tcp
        what: "gre-in-udp",
        linktype: 1,
        frame: concat!(
            "000000000000000000000000080045000048b287400040110161c0a8006bc0a80501a01b129200340000000008004500",
            "00282ba5400040065481ac110002c0004e968ea60050116b885b652985c4501001f6df890000",
        ),
        want: "TCP 172.17.0.2:36518 > 192.0.78.150:80 len=0",
    },
    Case {
        // ndpi__vxlan frame 54: eth:ethertype:vlan:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp
        what: "vxlan",
        linktype: 1,
        frame: concat!(
            "000cbd063a74000cbd063a758100000508004500005a038800004011c9b1c0a81604c0a81605eb4612b50046daa00800",
            "000000045700667a50aaff9a1eea692a6fcf0800450800280000400040069ea60a0a14049df0e023b0aa01bb466bd613",
            "000000005004000044da0000",
        ),
        want: "TCP 10.10.20.4:45226 > 157.240.224.35:443 len=0",
    },
    Case {
        // zeek__tunnels__vxlan-triple-v2 frame 1: eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:udp:dns
        what: "vxlan-triple",
        linktype: 1,
        frame: concat!(
            "7a8a20f63cb5c889f3ada3330800450000cf0001000040117612010101010101010912b512b500bb91070c0000030000",
            "01007a8a20f63cb5c889f3ada33308004500009d0001000040117241020202020202020912b512b5008990390c000003",
            "000002007a8a20f63cb5c889f3ada33308004500006b0001000040116e70030303030303030912b512b500578f6b0c00",
            "0003000003007a8a20f63cb5c889f3ada3330800450000390001000040116a9f040404040404040900350035002598a0",
            "000001000001000000000000037777770362626303636f6d0000010001",
        ),
        want: "UDP 4.4.4.4:53 > 4.4.4.9:53 len=29",
    },
    Case {
        // zeek__tunnels__geneve-many-options frame 3: eth:ethertype:ip:udp:geneve:eth:ethertype:ip:tcp
        what: "geneve-options",
        linktype: 1,
        frame: concat!(
            "72c4944856a80011223344550800450000b20000000040112416c0a821b3c0a8b3211a0b17c1009e62db130065580c01",
            "2e0001000104313233343536373839306162636465000100020930313233343536373839616263646566303132333435",
            "36373839616263646566300000000100030330313233343536373839000062947530e18f26ed54f8c428080045000034",
            "62e04000400688780a0000e25fd9e4b098b0005091ead1cad7d4749c801001fb4f9200000101080ad2262515052e5d65",
        ),
        want: "TCP 10.0.0.226:39088 > 95.217.228.176:80 len=0",
    },
    Case {
        // sv__bug-6402-01 frame 3: eth:ethertype:ip:udp:geneve:ip:gre:ip:tcp
        what: "geneve-ip-gre",
        linktype: 1,
        frame: concat!(
            "02a17ba6354502dd26a7539908004500009000000000ff1194d30a000a4a0a000840eb7417c1007c9121080008000000",
            "00000108010231e129cdc0cd8633010802020000000000000000010803013dc956ac4500004ca7804000e02fdb9b0a00",
            "01480a00021f0000080045000034e09240004006462b0a0200010a020002991e04d2bf56b55ef6cc8674801001e98198",
            "00000101080aee08d096d552bb5b",
        ),
        want: "TCP 10.2.0.1:39198 > 10.2.0.2:1234 len=0",
    },
    Case {
        // arkime__gtp-iphone frame 1: sll:ethertype:ip:udp:gtp:ip:udp:dns
        what: "gtp-sll",
        linktype: 113,
        frame: concat!(
            "000003040006000000000000000008004500006d0000400040113a1b7f0001017f00016408680868005900d030ff0049",
            "7e10b5684500004949060000401104cbc0a80381c0a8a801e1c90035003563edd333010000010000000000000c73656e",
            "7469746c656d656e74066d6f62696c6503617474036e65740000010001",
        ),
        want: "UDP 192.168.3.129:57801 > 192.168.168.1:53 len=45",
    },
    Case {
        // ndpi__ja3_lots_of_cipher_suites_2_anon frame 10: eth:ethertype:ip:udp:gtp:ip:tcp (GTP flags 0x32: S)
        what: "gtp-seq",
        linktype: 1,
        frame: concat!(
            "fc48efa29a3f30d17e0f6c3e080045b8005c76e800004011398084bef40c9779b92c086808680048000032ff0038013c",
            "5b747950000045000034634e400040062a02c0a893b19779c1a0e48001bb42c6dc7d55da079380100223780200000101",
            "080a000bbacd316effef",
        ),
        want: "TCP 192.168.147.177:58496 > 151.121.193.160:443 len=0",
    },
    Case {
        // arkime__ipv6-gtp6 frame 1: eth:ethertype:vlan:ethertype:ipv6:udp:gtp:ipv6:udp:dns
        what: "gtp-ipv6-outer",
        linktype: 1,
        frame: concat!(
            "2c21720000000025ba0000008100080086dd60000000018c11fe11112222333344445555666600000001111122223333",
            "44445555666600000000f35d0868018cadfe30ff017c022be6426002d995015411f21111222233334444555577770000",
            "0000111122223333444455558888a8ac7bc00035dec60154e86a9d468180000100110000000007787878787878350878",
            "7878787878783603636f6d0000010001c00c000500010000000700130678787878783701780778787878787838c01dc0",
            "320005000100000b2f000b087878787878787839c03bc051000100010000002500040a0109b6c0510001000100000025",
            "00040a010986c051000100010000002500040a010ab6c051000100010000002500040a01e046c0510001000100000025",
            "00040a010a96c051000100010000002500040a01e066c051000100010000002500040a01e9b6c0510001000100000025",
            "00040a01e996c051000100010000002500040a01e076c051000100010000002500040a01e986c0510001000100000025",
            "00040a010aa6c051000100010000002500040a0109a6c051000100010000002500040a010a86c0510001000100000025",
            "00040a01e056c051000100010000002500040a010996",
        ),
        want: "UDP 1111:2222:3333:4444:5555:7777:::53 > 1111:2222:3333:4444:5555:8888:a8ac:7bc0:57030 len=332",
    },
    Case {
        // ndpi__4in6tunnel frame 1: eth:ethertype:ipv6:ip:tcp
        what: "ip4in6",
        linktype: 1,
        frame: concat!(
            "000102ba768e00000049f48786dd600000000034043f22e01685eda738cc58bdf3f1aa3f22d8344aba94152aac340000",
            "00000000002a450000347bf040007f06ab1fc0a800010a0a0a01fbc701bbdfe13e82000000008002ffff7ea500000204",
            "058401030308010104020000000000000000000000000000000000000000000000000000000000000000000000000000",
            "00000000000000000000",
        ),
        want: "TCP 192.168.0.1:64455 > 10.10.10.1:443 len=0",
    },
    Case {
        // ndpi__6in4tunnel frame 100: eth:ethertype:ip:ipv6:tcp
        what: "ip6in4",
        linktype: 1,
        frame: concat!(
            "002290de3bd9000024ce813408004500005cbd834000ff290f55ae034918b869ff1a600000000020063f200104701f17",
            "013f3e970efffe734dec2604a88000010020000000000224b001eb2d01bb4bc8b3834030a2868010010a2a1f00000101",
            "080a2779ef78b43151fc",
        ),
        want: "TCP 2001:470:1f17:13f:3e97:eff:fe73:4dec:60205 > 2604:a880:1:20::224:b001:443 len=0",
    },
    Case {
        // ndpi__capwap_data frame 13: eth:ethertype:vlan:ethertype:vlan:ethertype:ip:udp:capwap.data:wlan:llc:ip:tcp
        what: "capwap-wlan",
        linktype: 1,
        frame: concat!(
            "000000000008a4c64f3bb3ab8100605e8100600408004500007820034000fd113c3cac106457ac32649b147fa1300064",
            "000000100300e03d00000208000054f201e1b29984802d2b4590e4c722aab94f0000aaaa03000000080045000034764a",
            "40004006e9fb4a7d82bc0a01034401bbb7b1d1f4745e0b21621b8010006750ea00000101080a9b65021400214057",
        ),
        want: "TCP 74.125.130.188:443 > 10.1.3.68:47025 len=0",
    },
    Case {
        // zeek__tunnels__ayiya3 frame 12: eth:ethertype:ip:udp:ayiya:ipv6:tcp
        what: "ayiya",
        linktype: 1,
        frame: concat!(
            "00062559a2200017f24c7a3508004500009c45570000401136c8c0a80365d80e6216d26313d00088a20e415211294af6",
            "4c0520014978000f004c000000000000000272da85ee3665328a9e17c1f4efb6bbf034211d5460000000002c06402001",
            "4978000f004c000000000000000220014860b00200000000000000000068d08600505b2abe4900000000b002ffff6e53",
            "0000020404c4010303010101080a3aa022110000000004020000",
        ),
        want: "TCP 2001:4978:f:4c::2:53382 > 2001:4860:b002::68:80 len=0",
    },
];

#[test]
fn link_types_from_corpus() {
    run_cases(LINK_CASES);
}

#[test]
fn tunnels_from_corpus() {
    run_cases(TUNNEL_CASES);
}
