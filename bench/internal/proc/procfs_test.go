package proc

import "testing"

func TestParseProcFiles(t *testing.T) {
	tcp := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F90 0100007F:C351 01 00000000:0000004A 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 20 4 30 10 -1
`
	est, unread, err := procNetTCP(tcp, 8080)
	if err != nil || est != 2 || unread != 1 {
		t.Errorf("procNetTCP = %d, %d, %v; want 2, 1", est, unread, err)
	}

	status := "Name:\tstarfleet\nVmHWM:\t   18000 kB\nVmRSS:\t   11720 kB\n"
	if v, err := StatusField(status, "VmRSS"); err != nil || v != 11720*1024 {
		t.Errorf("VmRSS = %d, %v", v, err)
	}
	if _, err := StatusField(status, "VmSwap"); err == nil {
		t.Error("missing field found")
	}

	stat := "4242 (starfleet secrets) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0"
	if d, err := statCPU(stat); err != nil || d != 325*clockTick {
		t.Errorf("statCPU = %v, %v", d, err)
	}
}
