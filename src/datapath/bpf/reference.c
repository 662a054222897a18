// idplane's reference datapath: a tc program that enforces the maps the node agent writes, in
// Cilium v1.18's layouts, on a pod's host-side veth. Written for idplane (not Cilium's code); it
// proves the maps on real packets, it is not a production datapath.
//
// to_container   (tc egress of the host veth: packets to the pod) -> ingress policy, remote =
//                source address.
// from_container (tc ingress of the host veth: packets from the pod) -> egress policy, remote =
//                destination address.
//
// What it polices, exactly:
// - IPv4 packets that open something: TCP segments with SYN and without ACK, every UDP and SCTP
//   packet, ICMP other than echo reply, and every other IP protocol (port 0). The remote address
//   is resolved in cilium_ipcache_v2 (longest prefix; no entry -> world, identity 2), then the
//   endpoint's policy map is looked up as Cilium v1.18's __policy_can_access does (see verdict()).
// - Replies, by a stated rule and without connection tracking: TCP segments without SYN or with
//   SYN+ACK, and ICMP echo replies, pass unpoliced. So an allowed connection works both ways,
//   while a peer without an allow cannot open one. A UDP answer is a new packet to the other
//   side and needs that side's allow.
// - ARP passes (pods resolve their gateway). IPv6 and every other ethertype, IPv4 fragments
//   after the first (no ports to look up) and truncated headers are dropped: fail closed.
// Policy-checked packets are counted per direction and verdict in the endpoint's counters map.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// struct ipcache_key (Cilium bpf/lib/eps.h), packed, 24 bytes.
struct ipcache_key {
	__u32 prefixlen;
	__u16 cluster_id;
	__u8 pad1;
	__u8 family;
	__u32 addr[4];
} __attribute__((packed));

// struct remote_endpoint_info (bpf/lib/common.h), 24 bytes.
struct remote_endpoint_info {
	__u32 sec_identity;
	__u32 tunnel_endpoint[4];
	__u16 pad;
	__u8 key;
	__u8 flags;
};

// struct policy_key (bpf/lib/common.h), 12 bytes; dport in network order.
struct policy_key {
	__u32 prefixlen;
	__u32 sec_label;
	__u8 egress;
	__u8 protocol;
	__be16 dport;
};

// struct policy_entry, 8 bytes: flags bit 0 deny, bits 3-7 the entry's LPM prefix length.
struct policy_entry {
	__be16 proxy_port;
	__u8 flags;
	__u8 auth_type;
	__u8 proxy_port_priority;
	__u8 pad1;
	__u16 pad2;
};

#define ENDPOINT_KEY_IPV4 1
// 32 bits of cluster id, pad and family, then the address.
#define IPCACHE_PREFIX_IPV4 (32 + 32)
// Every bit after the LPM header: identity, direction, protocol, port.
#define POLICY_FULL_PREFIX 64
#define POLICY_FLAG_DENY 1
#define POLICY_LPM_SHIFT 3
#define WORLD_ID 2

// The three maps are placeholders: the loader replaces each with the agent's pinned map
// (bpftool prog loadall ... map name <name> pinned <path>), so the object never creates one.
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct ipcache_key);
	__type(value, struct remote_endpoint_info);
	__uint(max_entries, 512000);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct policy_key);
	__type(value, struct policy_entry);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} policy SEC(".maps");

// Index: direction * 2 + verdict (direction 0 ingress, 1 egress; verdict 0 allow, 1 drop).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} counters SEC(".maps");

enum verdict { ALLOW = 0, DROP = 1 };

static __always_inline __u32 identity_of(__be32 addr)
{
	struct ipcache_key key = { .prefixlen = IPCACHE_PREFIX_IPV4, .family = ENDPOINT_KEY_IPV4 };
	struct remote_endpoint_info *info;

	key.addr[0] = addr;
	info = bpf_map_lookup_elem(&ipcache, &key);
	return info ? info->sec_identity : WORLD_ID;
}

// Cilium v1.18 __policy_can_access: the identity's entry, a deny of which wins at once; then the
// any-identity (L4-only) entry, chosen when it denies, when there is no identity entry, when its
// proxy priority is higher, or at equal priority when its prefix is longer. No entry: drop.
static __always_inline enum verdict verdict(__u32 identity, __u8 egress, __u8 protocol, __be16 dport)
{
	struct policy_key key = {
		.prefixlen = POLICY_FULL_PREFIX, .sec_label = identity, .egress = egress,
		.protocol = protocol, .dport = dport,
	};
	struct policy_entry *l3, *l4, *chosen;

	l3 = bpf_map_lookup_elem(&policy, &key);
	if (l3 && (l3->flags & POLICY_FLAG_DENY))
		return DROP;
	key.sec_label = 0;
	l4 = bpf_map_lookup_elem(&policy, &key);
	chosen = l3;
	if (l4 && ((l4->flags & POLICY_FLAG_DENY) || !l3 ||
		   l4->proxy_port_priority > l3->proxy_port_priority ||
		   (l4->proxy_port_priority == l3->proxy_port_priority &&
		    (l4->flags >> POLICY_LPM_SHIFT) > (l3->flags >> POLICY_LPM_SHIFT))))
		chosen = l4;
	if (!chosen || (chosen->flags & POLICY_FLAG_DENY))
		return DROP;
	return ALLOW;
}

static __always_inline int count(__u8 egress, enum verdict v)
{
	__u32 index = egress * 2 + v;
	__u64 *n = bpf_map_lookup_elem(&counters, &index);

	if (n)
		__sync_fetch_and_add(n, 1);
	return v == ALLOW ? TC_ACT_OK : TC_ACT_SHOT;
}

static __always_inline int enforce(struct __sk_buff *skb, __u8 egress)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u8 *l4;
	__be16 dport = 0;

	if ((void *)(eth + 1) > data_end)
		return count(egress, DROP);
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return TC_ACT_OK;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return count(egress, DROP);
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return count(egress, DROP);
	if (ip->frag_off & bpf_htons(0x1fff))
		return count(egress, DROP);
	l4 = (__u8 *)ip + ip->ihl * 4;

	switch (ip->protocol) {
	case IPPROTO_TCP:
		// Ports, then the flags byte at offset 13 (0x02 SYN, 0x10 ACK).
		if ((void *)(l4 + 14) > data_end)
			return count(egress, DROP);
		if ((l4[13] & 0x12) != 0x02)
			return TC_ACT_OK;
		dport = *(__be16 *)(l4 + 2);
		break;
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if ((void *)(l4 + 4) > data_end)
			return count(egress, DROP);
		dport = *(__be16 *)(l4 + 2);
		break;
	case IPPROTO_ICMP:
		if ((void *)(l4 + 1) > data_end)
			return count(egress, DROP);
		if (l4[0] == 0) // echo reply
			return TC_ACT_OK;
		break;
	}
	return count(egress, verdict(identity_of(egress ? ip->daddr : ip->saddr), egress, ip->protocol, dport));
}

SEC("tc")
int to_container(struct __sk_buff *skb)
{
	return enforce(skb, 0);
}

SEC("tc")
int from_container(struct __sk_buff *skb)
{
	return enforce(skb, 1);
}

char LICENSE[] SEC("license") = "GPL";
