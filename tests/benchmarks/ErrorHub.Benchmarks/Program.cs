using BenchmarkDotNet.Running;
using ErrorHub.Benchmarks.ClickHouse;

if (args is ["clickhouse-insert", .. var rest])
{
    await ClickHouseInsertComparison.RunAsync(rest);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
