/** A Prowler shard whose findings are missing from a scan: its checks in its regions were not scanned and kept their results (citadel.ShardFailure). */
export interface ShardFailure {
	shard_id: string;
	regions: string[];
	units?: { region: string; group: string }[];
	checks: number;
	reason: string;
}
