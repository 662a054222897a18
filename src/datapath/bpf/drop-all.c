// idplane's reference datapath, guard program: drops every packet. The agent attaches it to a new
// port of a guarded bridge as soon as the port appears, on both clsact hooks of the handle the
// reference programs use, so that `tc filter replace` swaps it for them without a gap once the
// pod's endpoint and maps exist. Until then nothing reaches the pod and nothing leaves it.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int drop_all(struct __sk_buff *skb)
{
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
