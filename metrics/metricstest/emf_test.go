package metricstest

import "testing"

func TestCheckEMFRejects(t *testing.T) {
	for _, line := range []string{
		`not json`, `[]`, `{}`, `{"_aws":{}}`, `{"_aws":{"Timestamp":1.5,"CloudWatchMetrics":[]}}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":["x"]}}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"M":1}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"M":"1"}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Bytes?"}]}]},"M":1}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Other","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"M":1}`,
	} {
		if _, err := CheckEMF([]byte(line), "N"); err == nil {
			t.Errorf("accepted %s", line)
		}
	}
	ok := `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"D":"d","M":[1,2]}`
	if _, err := CheckEMF([]byte(ok), "N"); err != nil {
		t.Errorf("rejected a valid line: %v", err)
	}
}
