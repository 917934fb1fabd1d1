package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// AssetSync adapts the asset-sync step as the state machine runs it
// (infra/assetsyncmap.go): when its output is a fan-out's plan, each item
// runs (concurrency at once, as the Map's MaxConcurrency), an item's error
// becoming its result (the Map's Catch: citadel.AssetSyncScope with the
// error's type), and the apply's output is the step's.
func AssetSync(s stepfn.Step[citadel.AssetSyncInput, citadel.AssetSyncOutput], concurrency int) Step {
	if concurrency < 1 {
		concurrency = 1
	}
	return Step{
		Name:  s.Name,
		Input: reflect.TypeFor[citadel.AssetSyncInput](),
		Run: func(ctx context.Context, state json.RawMessage) (any, error) {
			in, err := stepfn.Decode[citadel.AssetSyncInput](s.Name, state)
			if err != nil {
				return nil, err
			}
			out, err := s.Run(ctx, in)
			if err != nil || out.FanOut == nil {
				return out, err
			}
			fo := *out.FanOut
			scopes := make([]citadel.AssetSyncScope, len(fo.Items))
			sem := make(chan struct{}, concurrency)
			var wg sync.WaitGroup
			for i, item := range fo.Items {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					o, err := s.Run(ctx, citadel.AssetSyncInput{Plan: in.Plan, Item: &item})
					switch {
					case err != nil:
						scopes[i] = citadel.AssetSyncScope{Region: item.Region, Error: stepfn.ErrorType(err)}
					case o.Scope == nil:
						scopes[i] = citadel.AssetSyncScope{Region: item.Region, Error: fmt.Sprintf("%s: an item returned no scope", s.Name)}
					default:
						scopes[i] = *o.Scope
					}
				}()
			}
			wg.Wait()
			return s.Run(ctx, citadel.AssetSyncInput{Plan: in.Plan, FanOut: &fo, Scopes: scopes})
		},
	}
}
