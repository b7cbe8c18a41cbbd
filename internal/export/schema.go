package export

// The tables of an export, one Go type per table: the parquet tags name
// each column and its encoding, the json tags the same names for JSON
// lines. The Parquet files are written by pqfile from columns.go, which
// declares the same columns again as code; the tags are what
// parquet-go, the tests' oracle, reads them back by, and
// TestParquetTables holds the two alike. Times are INT64 TIMESTAMP(NANOS) in UTC in Parquet and RFC 3339
// strings in JSON; durations are seconds as doubles; a nil pointer is a
// null (a value the connection does not have, as Zeek's "-").
//
// The partition columns (sensor, date, hour) are in the directory names,
// not in the files: engines that read the directory as one table add them
// from there (Hive's layout).

// Connection is a row of the connections table: one connection as tcplens
// delimits it (conns numbers the same ones). Its first columns are Zeek
// conn.log's wherever the meaning is the same, the originator being the
// client; then tcplens's own.
type Connection struct {
	TS          Time    `parquet:"ts,timestamp(nanosecond)" json:"ts"`
	UID         string  `parquet:"uid" json:"uid"`
	OrigH       string  `parquet:"id.orig_h,dict" json:"id.orig_h"`
	OrigP       int32   `parquet:"id.orig_p" json:"id.orig_p"`
	RespH       string  `parquet:"id.resp_h,dict" json:"id.resp_h"`
	RespP       int32   `parquet:"id.resp_p" json:"id.resp_p"`
	Duration    float64 `parquet:"duration" json:"duration"`
	OrigBytes   int64   `parquet:"orig_bytes" json:"orig_bytes"`
	RespBytes   int64   `parquet:"resp_bytes" json:"resp_bytes"`
	ConnState   string  `parquet:"conn_state,dict" json:"conn_state"`
	MissedBytes int64   `parquet:"missed_bytes" json:"missed_bytes"`
	History     string  `parquet:"history,dict" json:"history"`
	OrigPkts    int64   `parquet:"orig_pkts" json:"orig_pkts"`
	OrigIPBytes int64   `parquet:"orig_ip_bytes" json:"orig_ip_bytes"`
	RespPkts    int64   `parquet:"resp_pkts" json:"resp_pkts"`
	RespIPBytes int64   `parquet:"resp_ip_bytes" json:"resp_ip_bytes"`
	CommunityID string  `parquet:"community_id" json:"community_id"`

	End                 Time     `parquet:"end_ts,timestamp(nanosecond)" json:"end_ts"`
	FirstFrame          int64    `parquet:"first_frame" json:"first_frame"`
	LastFrame           int64    `parquet:"last_frame" json:"last_frame"`
	OrigPayloadBytes    int64    `parquet:"orig_payload_bytes" json:"orig_payload_bytes"`
	RespPayloadBytes    int64    `parquet:"resp_payload_bytes" json:"resp_payload_bytes"`
	RoleGuessed         bool     `parquet:"role_guessed" json:"role_guessed"`
	OrigState           string   `parquet:"orig_state,dict" json:"orig_state"`
	RespState           string   `parquet:"resp_state,dict" json:"resp_state"`
	Close               string   `parquet:"close,dict" json:"close"`
	ClosedBy            string   `parquet:"closed_by,dict" json:"closed_by"`
	ClosedFirst         *string  `parquet:"closed_first,optional,dict" json:"closed_first"`
	HandshakeRTT        *float64 `parquet:"handshake_rtt,optional" json:"handshake_rtt"`
	OrigSRTT            *float64 `parquet:"orig_srtt,optional" json:"orig_srtt"`
	OrigMinRTT          *float64 `parquet:"orig_min_rtt,optional" json:"orig_min_rtt"`
	RespSRTT            *float64 `parquet:"resp_srtt,optional" json:"resp_srtt"`
	RespMinRTT          *float64 `parquet:"resp_min_rtt,optional" json:"resp_min_rtt"`
	OrigRetrans         int32    `parquet:"orig_retrans" json:"orig_retrans"`
	OrigRetransFast     int32    `parquet:"orig_retrans_fast" json:"orig_retrans_fast"`
	OrigRetransRTO      int32    `parquet:"orig_retrans_rto" json:"orig_retrans_rto"`
	OrigRetransTLP      int32    `parquet:"orig_retrans_tlp" json:"orig_retrans_tlp"`
	OrigRetransSpurious int32    `parquet:"orig_retrans_spurious" json:"orig_retrans_spurious"`
	OrigRetransSYN      int32    `parquet:"orig_retrans_syn" json:"orig_retrans_syn"`
	OrigRetransSYNACK   int32    `parquet:"orig_retrans_synack" json:"orig_retrans_synack"`
	OrigRetransFIN      int32    `parquet:"orig_retrans_fin" json:"orig_retrans_fin"`
	RespRetrans         int32    `parquet:"resp_retrans" json:"resp_retrans"`
	RespRetransFast     int32    `parquet:"resp_retrans_fast" json:"resp_retrans_fast"`
	RespRetransRTO      int32    `parquet:"resp_retrans_rto" json:"resp_retrans_rto"`
	RespRetransTLP      int32    `parquet:"resp_retrans_tlp" json:"resp_retrans_tlp"`
	RespRetransSpurious int32    `parquet:"resp_retrans_spurious" json:"resp_retrans_spurious"`
	RespRetransSYN      int32    `parquet:"resp_retrans_syn" json:"resp_retrans_syn"`
	RespRetransSYNACK   int32    `parquet:"resp_retrans_synack" json:"resp_retrans_synack"`
	RespRetransFIN      int32    `parquet:"resp_retrans_fin" json:"resp_retrans_fin"`
	OrigDupAcks         int32    `parquet:"orig_dup_acks" json:"orig_dup_acks"`
	RespDupAcks         int32    `parquet:"resp_dup_acks" json:"resp_dup_acks"`
	OrigZeroWindows     int32    `parquet:"orig_zero_windows" json:"orig_zero_windows"`
	RespZeroWindows     int32    `parquet:"resp_zero_windows" json:"resp_zero_windows"`
	MSSOrigSends        *int32   `parquet:"mss_orig_sends,optional" json:"mss_orig_sends"`
	MSSRespSends        *int32   `parquet:"mss_resp_sends,optional" json:"mss_resp_sends"`
	WindowScaling       bool     `parquet:"window_scaling" json:"window_scaling"`
	WScaleOrig          *int32   `parquet:"wscale_orig,optional" json:"wscale_orig"`
	WScaleResp          *int32   `parquet:"wscale_resp,optional" json:"wscale_resp"`
	WScaleInferred      bool     `parquet:"wscale_inferred" json:"wscale_inferred"`
	SACK                bool     `parquet:"sack" json:"sack"`
	Timestamps          bool     `parquet:"timestamps" json:"timestamps"`
	ECN                 bool     `parquet:"ecn" json:"ecn"`
	AccECN              bool     `parquet:"accecn" json:"accecn"`
	TFO                 bool     `parquet:"tfo" json:"tfo"`
	Vantage             string   `parquet:"vantage,dict" json:"vantage"`
	ReusedPorts         bool     `parquet:"reused_ports" json:"reused_ports"`
	EndReason           string   `parquet:"end_reason,dict" json:"end_reason"`
	Findings            []string `parquet:"findings,list" json:"findings"`
	Capture             string   `parquet:"capture,dict" json:"capture"`
}

// Finding is a row of the findings table: one finding of one connection,
// as diagnose explains it.
type Finding struct {
	UID         string  `parquet:"uid" json:"uid"`
	TS          Time    `parquet:"ts,timestamp(nanosecond)" json:"ts"` // the connection's first packet, as in connections
	ID          string  `parquet:"id,dict" json:"id"`
	Severity    string  `parquet:"severity,dict" json:"severity"`
	Frames      []int64 `parquet:"frames,list" json:"frames"`
	Title       string  `parquet:"title" json:"title"`
	Explanation string  `parquet:"explanation" json:"explanation"`
	Advice      string  `parquet:"advice,dict" json:"advice"`
	Capture     string  `parquet:"capture,dict" json:"capture"`
}

// Transition is a row of the transitions table: one endpoint's state
// change, as conns --json lists them.
type Transition struct {
	UID        string `parquet:"uid" json:"uid"`
	End        string `parquet:"end,dict" json:"end"` // client or server
	Frame      int64  `parquet:"frame" json:"frame"`  // 0 for the end of the capture
	TS         Time   `parquet:"ts,timestamp(nanosecond)" json:"ts"`
	From       string `parquet:"from,dict" json:"from"`
	To         string `parquet:"to,dict" json:"to"`
	Reason     string `parquet:"reason" json:"reason"`
	Correction bool   `parquet:"correction" json:"correction"`
	Capture    string `parquet:"capture,dict" json:"capture"`
}

// Segment is a row of the segments table (--segments): one TCP segment,
// with the fields of read --json (the state changes are in transitions).
// Its numbers that change little from row to row (frame, time, sequence
// numbers) are delta-encoded: smaller before zstd, so that it compresses
// them faster, and smaller after.
type Segment struct {
	Frame         int64       `parquet:"frame,delta" json:"frame"`
	TS            Time        `parquet:"ts,timestamp(nanosecond),delta" json:"ts"`
	UID           string      `parquet:"uid,dict" json:"uid"`
	Dir           string      `parquet:"dir,dict" json:"dir"` // c2s or s2c
	SrcH          string      `parquet:"src_h,dict" json:"src_h"`
	SrcP          int32       `parquet:"src_p" json:"src_p"`
	DstH          string      `parquet:"dst_h,dict" json:"dst_h"`
	DstP          int32       `parquet:"dst_p" json:"dst_p"`
	Flags         string      `parquet:"flags,dict" json:"flags"` // tcpdump's letters
	Seq           int64       `parquet:"seq,delta" json:"seq"`    // relative to the sender's ISN
	Ack           int64       `parquet:"ack,delta" json:"ack"`
	SeqRaw        int64       `parquet:"seq_raw,delta" json:"seq_raw"`
	AckRaw        int64       `parquet:"ack_raw,delta" json:"ack_raw"`
	Len           int32       `parquet:"len" json:"len"`
	Win           int32       `parquet:"win" json:"win"`
	WinScaled     *int64      `parquet:"win_scaled,optional" json:"win_scaled"`
	MSS           *int32      `parquet:"mss,optional" json:"mss"`
	WScale        *int32      `parquet:"wscale,optional" json:"wscale"`
	SACKPermitted bool        `parquet:"sack_permitted" json:"sack_permitted"`
	SACK          []SACKBlock `parquet:"sack,list" json:"sack"`
	TSVal         *int64      `parquet:"ts_val,optional" json:"ts_val"`
	TSEcr         *int64      `parquet:"ts_ecr,optional" json:"ts_ecr"`
	Analysis      []string    `parquet:"analysis,list" json:"analysis"`
	DupAckNum     *int32      `parquet:"dup_ack_num,optional" json:"dup_ack_num"`
	DupAckOf      *int64      `parquet:"dup_ack_of,optional" json:"dup_ack_of"`
	RetransOf     *int64      `parquet:"retransmits_frame,optional" json:"retransmits_frame"`
	RetransAfter  *float64    `parquet:"retransmits_after,optional" json:"retransmits_after"`
	AcksFrame     *int64      `parquet:"acks_frame,optional" json:"acks_frame"`
	AckRTT        *float64    `parquet:"ack_rtt,optional" json:"ack_rtt"`
	RTT           *float64    `parquet:"rtt,optional" json:"rtt"`
	BytesInFlight *int64      `parquet:"bytes_in_flight,optional" json:"bytes_in_flight"`
	ClientState   string      `parquet:"client_state,dict" json:"client_state"`
	ServerState   string      `parquet:"server_state,dict" json:"server_state"`
	Error         *string     `parquet:"error,optional" json:"error"`
	Capture       string      `parquet:"capture,dict" json:"capture"`
}

// SACKBlock is one SACK block, as raw sequence numbers.
type SACKBlock struct {
	Left  int64 `parquet:"left" json:"left"`
	Right int64 `parquet:"right" json:"right"`
}
