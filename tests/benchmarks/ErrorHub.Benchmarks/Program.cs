using BenchmarkDotNet.Running;
using ErrorHub.Benchmarks;
using ErrorHub.Benchmarks.ClickHouse;
using ErrorHub.Benchmarks.Load;
using ErrorHub.Benchmarks.Queries;

if (args is ["clickhouse-insert", .. var rest])
{
    await ClickHouseInsertComparison.RunAsync(rest);
    return;
}

if (args is ["decode-cost", .. var decodeArgs])
{
    DecodeCost.Run(decodeArgs);
    return;
}

if (args is ["dashboard-queries", .. var queryArgs])
{
    await DashboardQueryBenchmark.RunAsync(queryArgs);
    return;
}

if (args is ["late-recount", .. var lateArgs])
{
    await LateRecountBenchmark.RunAsync(lateArgs);
    return;
}

if (args is ["tabs-at-scale", .. var tabsArgs])
{
    await TabsAtScale.RunAsync(tabsArgs);
    return;
}

if (args is ["resolved-reads-at-scale", .. var resolvedArgs])
{
    await ResolvedReadsAtScale.RunAsync(resolvedArgs);
    return;
}

if (args is ["states-at-scale", .. var statesArgs])
{
    await StatesAtScale.RunAsync(statesArgs);
    return;
}

if (args is ["row-bytes"])
{
    RowBytes.Run();
    return;
}

if (args is ["insert-cost", .. var stepArgs])
{
    await InsertCost.RunAsync(stepArgs);
    return;
}

if (args is ["merge-cost", .. var mergeCostArgs])
{
    await MergeCost.RunAsync(mergeCostArgs);
    return;
}

if (args is ["search-text-cost", .. var searchTextArgs])
{
    await ViewCost.SearchTextCostAsync(searchTextArgs);
    return;
}

if (args is ["view-cost", .. var viewCostArgs])
{
    await ViewCost.RunAsync(viewCostArgs);
    return;
}

if (args is ["merge-amplification", .. var mergeArgs])
{
    await MergeAmplification.RunAsync(mergeArgs);
    return;
}

if (args is ["ingest-load", .. var loadArgs])
{
    await IngestLoad.RunAsync(loadArgs);
    return;
}

if (args is ["sdk-storm", .. var stormArgs])
{
    await SdkStorm.RunAsync(stormArgs);
    return;
}

if (args is ["request-cost", .. var costArgs])
{
    await RequestCostBenchmarks.RunAsync(costArgs);
    return;
}

if (args is ["capture-pieces", .. var pieceArgs])
{
    CapturePieces.Run(pieceArgs);
    return;
}

if (args is ["plain-ratio", .. var ratioArgs])
{
    await RequestCostBenchmarks.RunPlainRatioAsync(ratioArgs);
    return;
}

if (args is ["wrk-plain", .. var wrkPlainArgs])
{
    await WrkBenchmarks.RunPlainAsync(wrkPlainArgs);
    return;
}

if (args is ["wrk-storm-ok", .. var wrkStormOkArgs])
{
    await WrkBenchmarks.RunStormOkAsync(wrkStormOkArgs);
    return;
}

if (args is ["wrk-storm-rate", .. var wrkStormRateArgs])
{
    await StormRate.RunAsync(wrkStormRateArgs);
    return;
}

if (args is ["wrk-storm", .. var wrkStormArgs])
{
    await WrkBenchmarks.RunStormAsync(wrkStormArgs);
    return;
}

if (args is ["sdk-storm-sink"] or ["sdk-storm-sink", "light"])
{
    await SdkStorm.RunSinkAsync(light: args.Length > 1);
    return;
}

if (args is ["sdk-warm-up-cost"])
{
    SdkStorm.RunWarmUpCost();
    return;
}

if (args is ["sdk-storm-app", .. var appArgs])
{
    await SdkStorm.RunAppAsync(appArgs);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
