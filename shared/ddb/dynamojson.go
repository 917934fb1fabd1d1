package ddb

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB JSON is the form of items an export keeps: every attribute value
// an object of one type key ({"S": "..."}, {"N": "12"}, {"M": {...}}), as the
// AWS CLI and DynamoDB's own exports write it.

// toDynamoJSON is an attribute value in DynamoDB's JSON form.
func toDynamoJSON(av types.AttributeValue) map[string]any {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": v.Value} // base64 by encoding/json
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	case *types.AttributeValueMemberBS:
		return map[string]any{"BS": v.Value}
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, x := range v.Value {
			l[i] = toDynamoJSON(x)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(v.Value))
		for k, x := range v.Value {
			m[k] = toDynamoJSON(x)
		}
		return map[string]any{"M": m}
	}
	return map[string]any{"NULL": true}
}

// fromDynamoJSON reads an attribute value in DynamoDB's JSON form.
func fromDynamoJSON(raw map[string]json.RawMessage) (types.AttributeValue, error) {
	if len(raw) != 1 {
		return nil, fmt.Errorf("an attribute value has exactly one type key, got %d", len(raw))
	}
	for k, v := range raw {
		return decodeDynamoJSON(k, v)
	}
	return nil, nil
}

func decodeDynamoJSON(k string, v json.RawMessage) (types.AttributeValue, error) {
	switch k {
	case "S":
		var s string
		err := json.Unmarshal(v, &s)
		return &types.AttributeValueMemberS{Value: s}, err
	case "N":
		var s string
		err := json.Unmarshal(v, &s)
		return &types.AttributeValueMemberN{Value: s}, err
	case "B":
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		return &types.AttributeValueMemberB{Value: b}, err
	case "BOOL":
		var b bool
		err := json.Unmarshal(v, &b)
		return &types.AttributeValueMemberBOOL{Value: b}, err
	case "NULL":
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case "SS":
		var ss []string
		err := json.Unmarshal(v, &ss)
		return &types.AttributeValueMemberSS{Value: ss}, err
	case "NS":
		var ss []string
		err := json.Unmarshal(v, &ss)
		return &types.AttributeValueMemberNS{Value: ss}, err
	case "BS":
		var bs [][]byte
		err := json.Unmarshal(v, &bs)
		return &types.AttributeValueMemberBS{Value: bs}, err
	case "L":
		var l []map[string]json.RawMessage
		if err := json.Unmarshal(v, &l); err != nil {
			return nil, err
		}
		out := make([]types.AttributeValue, len(l))
		for i, x := range l {
			av, err := fromDynamoJSON(x)
			if err != nil {
				return nil, err
			}
			out[i] = av
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case "M":
		var m map[string]map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, err
		}
		out := make(map[string]types.AttributeValue, len(m))
		for k, x := range m {
			av, err := fromDynamoJSON(x)
			if err != nil {
				return nil, err
			}
			out[k] = av
		}
		return &types.AttributeValueMemberM{Value: out}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %q", k)
}
