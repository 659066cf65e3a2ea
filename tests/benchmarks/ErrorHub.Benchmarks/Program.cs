using BenchmarkDotNet.Running;
using ErrorHub.Benchmarks.ClickHouse;
using ErrorHub.Benchmarks.Load;

if (args is ["clickhouse-insert", .. var rest])
{
    await ClickHouseInsertComparison.RunAsync(rest);
    return;
}

if (args is ["ingest-load", .. var loadArgs])
{
    await IngestLoad.RunAsync(loadArgs);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
