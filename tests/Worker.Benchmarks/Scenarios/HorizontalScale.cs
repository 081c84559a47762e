using Npgsql;
using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using static Worker.Benchmarks.Scenarios.Scenarios;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// 7. Horizontal scale: the in-flight scenario (a 2 s provider, a closed loop) against one worker process, then against
/// N on the same broker and database, at the same per-instance concurrency. N instances can hold N times the calls in
/// flight, so throughput should grow N-fold; what it falls short shows what the instances share (the database, the
/// cores of this machine, which all of them and the services run on).
/// </summary>
public sealed class HorizontalScale : IScenario
{
    // What the instances' pools may open together, leaving room on a max_connections of 100 for the tool and psql.
    private const int SharedConnections = 90;
    private const int WarmUpSeconds = 5;

    public string Name => "scale";

    public string Title => "7. Horizontal scale";

    public TimeSpan TimeLimit(Sizes sizes) => TimeSpan.FromSeconds(2 * (150 + sizes.InFlightSeconds + 4 * sizes.InFlightLatencyMs / 1000.0) + 30 * sizes.ScaleInstances);

    public async Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken)
    {
        var instances = context.Sizes.ScaleInstances;
        var perInstance = context.Sizes.ScaleInFlightPerInstance;
        var latency = context.Sizes.InFlightLatencyMs / 1000.0;
        var pool = Math.Max((perInstance + 49) / 50, SharedConnections / instances);
        var settings = new Dictionary<string, string>
        {
            ["Messaging__ConcurrencyLimit"] = Number(perInstance),
            ["Messaging__PrefetchCount"] = Number(perInstance),
            // Every instance gets the same pool, small enough that N of them fit PostgreSQL's max_connections.
            ["ConnectionStrings__Postgres"] = new NpgsqlConnectionStringBuilder(context.Postgres) { MaxPoolSize = pool }.ConnectionString,
        };
        result.Settings["Messaging__ConcurrencyLimit, __PrefetchCount"] = Number(perInstance);
        result.Settings["Maximum Pool Size per instance"] = Number(pool);
        result.Settings["instances"] = $"1, then {instances}";
        result.Settings["in flight"] = $"{perInstance} per instance";
        result.Settings["simulator latency"] = $"{latency * 1000:0} ms";
        result.Settings["measured"] = $"{context.Sizes.InFlightSeconds} s after {2 * latency + WarmUpSeconds:0} s of warm-up, per run";

        await context.Simulator.SetFaultsAsync("gemini", new { latencyMs = context.Sizes.InFlightLatencyMs }, cancellationToken);
        var one = await RunAsync(context, 1, perInstance, settings, cancellationToken);
        var many = await RunAsync(context, instances, perInstance, settings, cancellationToken);

        var ratio = many.Throughput / one.Throughput;
        // The target, 2.5x for three instances, as a share of linear growth for any N.
        result.Check($"throughput of {instances} instances / of 1", ratio, ">=", Math.Round(2.5 / 3 * instances, 2), "x");
        result.Figure("throughput, 1 instance", one.Throughput, "/s");
        result.Figure($"throughput, {instances} instances", many.Throughput, "/s");
        result.Figure($"Little's-law bound, {instances} instances", instances * perInstance / latency, "/s");
        result.Figure("latency p50, 1 instance", one.P50, "ms");
        result.Figure($"latency p50, {instances} instances", many.P50, "ms");
        result.Figure($"succeeded, {instances} instances", many.SucceededPercent, "%");
        result.Figure($"peak working set per instance, {instances} instances", many.PeakMb, "MB");
        one.Cpu.Report(result, "worker", "1 instance");
        many.Cpu.Report(result, "workers", $"{instances} instances");
    }

    private sealed record Run(double Throughput, double P50, double SucceededPercent, double PeakMb, CpuUse Cpu);

    private async Task<Run> RunAsync(BenchContext context, int instances, int perInstance, Dictionary<string, string> settings,
        CancellationToken cancellationToken)
    {
        var latency = context.Sizes.InFlightLatencyMs / 1000.0;
        var window = context.Sizes.InFlightSeconds;
        var workers = new List<ServiceProcess>();
        try
        {
            for (var i = 0; i < instances; i++)
            {
                var instance = new Dictionary<string, string>(settings) { ["ProviderHealth__InstanceName"] = $"bench-{instances}x-{i}" };
                workers.Add(await context.StartWorkerAsync($"{Name}-{instances}x-{i}", instance, waitUntilConsuming: true, cancellationToken,
                    consumers: i + 1));
            }

            var log = new RequestLog();
            context.Broker.Current = log;
            // Two latencies as in the in-flight scenario, plus time for freshly started instances to warm up (JIT, pools).
            var from = Clock.Now + 2 * latency + WarmUpSeconds;
            var to = from + window;
            var cpu = new CpuWindow([.. workers.Select(w => w.Id)], context.SimulatorProcess.Id);
            await Load.ClosedLoopAsync(context.Broker, log, $"{Name}-{instances}x", instances * perInstance, total: null, until: to,
                () => Clock.Now < from ? "warm-up" : "measured", chain: null, cancellationToken);
            var cpuUse = cpu.Stop(log.Completed);
            await AllResultsAsync(log, TimeSpan.FromSeconds(60 + 4 * latency), cancellationToken);
            context.Broker.Current = null;

            var all = log.All;
            var done = all.Where(r => r.ResultAt >= from && r.ResultAt < to).ToList();
            return new Run(done.Count / (double)window, Stats.Percentile(LatenciesMs(done), 50), Percent(all.Count(r => r.Succeeded), all.Count),
                workers.Max(w => w.PeakWorkingSet) / 1024.0 / 1024.0, cpuUse);
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
        }
    }
}
