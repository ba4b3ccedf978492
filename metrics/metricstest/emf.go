// Package metricstest checks what package metrics writes, as CloudWatch
// would read it. It is for tests only, and stays out of the product.
package metricstest

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// CheckEMF validates one Embedded Metric Format line as CloudWatch reads it:
// the _aws block with an integer Timestamp, directives in namespace, every
// declared dimension present as a string and every declared metric present
// as a number or an array of numbers, with a known unit. It returns the
// decoded line, numbers as json.Number.
func CheckEMF(line []byte, namespace string) (map[string]any, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no _aws object")
	}
	if ts, ok := aws["Timestamp"].(json.Number); !ok {
		return nil, fmt.Errorf("_aws.Timestamp missing")
	} else if _, err := ts.Int64(); err != nil {
		return nil, fmt.Errorf("_aws.Timestamp is not an integer")
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		return nil, fmt.Errorf("no CloudWatchMetrics directives")
	}
	for _, raw := range directives {
		if err := checkDirective(doc, raw, namespace); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// checkDirective checks one CloudWatchMetrics directive of doc.
func checkDirective(doc map[string]any, raw any, namespace string) error {
	d, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("a directive is not an object")
	}
	if d["Namespace"] != namespace {
		return fmt.Errorf("namespace %v, want %s", d["Namespace"], namespace)
	}
	sets, ok := d["Dimensions"].([]any)
	if !ok {
		return fmt.Errorf("the Dimensions field is not an array")
	}
	for _, set := range sets {
		names, ok := set.([]any)
		if !ok {
			return fmt.Errorf("a dimension set is not an array")
		}
		for _, name := range names {
			key, ok := name.(string)
			if !ok {
				return fmt.Errorf("a dimension name is not a string")
			}
			if _, ok := doc[key].(string); !ok {
				return fmt.Errorf("dimension %s has no string value", key)
			}
		}
	}
	metrics, ok := d["Metrics"].([]any)
	if !ok || len(metrics) == 0 {
		return fmt.Errorf("no Metrics declared")
	}
	for _, raw := range metrics {
		m, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("a metric declaration is not an object")
		}
		name, _ := m["Name"].(string)
		if err := checkValue(doc[name]); err != nil {
			return fmt.Errorf("metric %q: %w", name, err)
		}
		switch m["Unit"] {
		case "Count", "Milliseconds":
		default:
			return fmt.Errorf("metric %q has unit %v", name, m["Unit"])
		}
	}
	return nil
}

func checkValue(v any) error {
	switch v := v.(type) {
	case json.Number:
		return nil
	case []any:
		for _, x := range v {
			if _, ok := x.(json.Number); !ok {
				return fmt.Errorf("a value is not a number")
			}
		}
		return nil
	}
	return fmt.Errorf("no numeric value")
}
