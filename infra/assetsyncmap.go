package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// The asset sync's states. asset-sync syncs the integration, or, past
// citadel.AssetSyncFanOutRegions regions, answers with the fan-out's plan
// ($.assets.fan_out); then a Map runs an item per region (and one for the
// global collectors), and asset-sync-apply diffs their union into
// $.assets, which the next states read as they read an unfanned sync's.
const (
	StateAssetSyncFansOut  = "asset-sync-fans-out"    // Choice: $.assets.fan_out present?
	StateAssetSyncRegions  = "asset-sync-regions"     // Map over $.assets.fan_out.items
	StateAssetSyncItem     = "asset-sync-region"      // an item: the asset-sync function on {plan, item}
	StateAssetSyncItemDone = "asset-sync-region-done" // Pass: the item's result, its scope
	StateAssetSyncItemFail = "asset-sync-region-failed"
	StateAssetSyncApply    = "asset-sync-apply" // the asset-sync function on {plan, fan_out, scopes}
)

// Paths of the fan-out in the execution's state.
var (
	assetsPath       = ResultPaths[citadel.StepAssetSync] // $.assets
	fanOutPath       = assetsPath + ".fan_out"
	fanOutItemsPath  = fanOutPath + ".items"
	fanOutScopesPath = assetsPath + ".scopes"
)

// AssetSyncItemSelector is each item's input (citadel.AssetSyncInput with
// Item): the plan and the item.
var AssetSyncItemSelector = map[string]any{
	"plan.$": "$.plan",
	"item.$": "$$.Map.Item.Value",
}

// AssetSyncItemFailed is a failed item's result (citadel.AssetSyncScope):
// its region and the error's name, caught at $.error.
var AssetSyncItemFailed = map[string]any{
	"region.$": "$.item.region",
	"error.$":  ErrorPath + ".Error",
}

// AssetSyncApplyPayload is the apply's input (citadel.AssetSyncInput with
// FanOut and Scopes).
var AssetSyncApplyPayload = map[string]any{
	"plan.$":    "$.plan",
	"fan_out.$": fanOutPath,
	"scopes.$":  fanOutScopesPath,
}

// assetSyncStates is the asset sync: asset-sync, then, when it fanned out,
// the Map and the apply. Each state but the items catches any error into
// finalize as every step does; an item's error is caught into its result
// (asset-sync-region-failed), so one region failing leaves that region's
// assets as they were and the others sync.
func assetSyncStates(scope constructs.Construct, fns *Functions, finalize awsstepfunctions.IChainable, catch *awsstepfunctions.CatchProps) awsstepfunctions.Chain {
	sync := lambdaTask(scope, fns, citadel.StepAssetSync, nil, assetsPath)
	sync.AddCatch(finalize, catch)

	item := lambdaTaskNamed(scope, fns, StateAssetSyncItem, citadel.StepAssetSync, nil, "$.result")
	done := awsstepfunctions.NewPass(scope, jsii.String(StateAssetSyncItemDone), &awsstepfunctions.PassProps{
		StateName: jsii.String(StateAssetSyncItemDone),
		InputPath: jsii.String("$.result.scope"),
	})
	failed := awsstepfunctions.NewPass(scope, jsii.String(StateAssetSyncItemFail), &awsstepfunctions.PassProps{
		StateName:  jsii.String(StateAssetSyncItemFail),
		Parameters: &AssetSyncItemFailed,
	})
	item.AddCatch(failed, &awsstepfunctions.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: jsii.String(ErrorPath)})

	regions := awsstepfunctions.NewMap(scope, jsii.String(StateAssetSyncRegions), &awsstepfunctions.MapProps{
		StateName:      jsii.String(StateAssetSyncRegions),
		ItemsPath:      jsii.String(fanOutItemsPath),
		ItemSelector:   &AssetSyncItemSelector,
		MaxConcurrency: jsii.Number(citadel.AssetSyncFanOutConcurrency),
		ResultPath:     jsii.String(fanOutScopesPath),
	})
	regions.ItemProcessor(item.Next(done), nil)
	regions.AddCatch(finalize, catch)

	apply := lambdaTaskNamed(scope, fns, StateAssetSyncApply, citadel.StepAssetSync,
		awsstepfunctions.TaskInput_FromObject(&AssetSyncApplyPayload), assetsPath)
	apply.AddCatch(finalize, catch)

	fansOut := awsstepfunctions.NewChoice(scope, jsii.String(StateAssetSyncFansOut), &awsstepfunctions.ChoiceProps{
		StateName: jsii.String(StateAssetSyncFansOut),
	}).When(awsstepfunctions.Condition_IsPresent(jsii.String(fanOutPath)), regions.Next(apply), nil)
	return sync.Next(fansOut.Afterwards(&awsstepfunctions.AfterwardsOptions{IncludeOtherwise: jsii.Bool(true)}))
}
