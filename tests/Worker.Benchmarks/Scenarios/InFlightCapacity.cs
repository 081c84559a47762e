using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using static Worker.Benchmarks.Scenarios.Scenarios;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// 2. Slow providers, many requests in flight: the simulator takes 2 s per call and the load generator keeps 2,000
/// requests outstanding (a closed loop) against a worker configured for 2,000 at once. Little's law bounds throughput at
/// in-flight / latency; anything the worker adds per request (queueing for a database connection, CPU) shows as a shortfall.
/// </summary>
public sealed class InFlightCapacity : IScenario
{
    public string Name => "inflight";

    public string Title => "2. In-flight capacity";

    public TimeSpan TimeLimit(Sizes sizes) => TimeSpan.FromSeconds(150 + sizes.InFlightSeconds + 4 * sizes.InFlightLatencyMs / 1000.0);

    public async Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken)
    {
        var inFlight = context.Sizes.InFlight;
        var latency = context.Sizes.InFlightLatencyMs / 1000.0;
        var window = context.Sizes.InFlightSeconds;
        var settings = new Dictionary<string, string>
        {
            ["Messaging__ConcurrencyLimit"] = Number(inFlight),
            ["Messaging__PrefetchCount"] = Number(inFlight),
        };
        foreach (var (key, value) in settings)
            result.Settings[key] = value;
        result.Settings["in flight"] = Number(inFlight);
        result.Settings["simulator latency"] = $"{latency * 1000:0} ms";
        result.Settings["measured"] = $"{window} s after {2 * latency:0} s of warm-up";

        await context.Simulator.SetFaultsAsync("gemini", new { latencyMs = context.Sizes.InFlightLatencyMs }, cancellationToken);
        await using var worker = await context.StartWorkerAsync(Name, settings, waitUntilConsuming: true, cancellationToken);
        var log = new RequestLog();
        context.Broker.Current = log;

        var from = Clock.Now + 2 * latency;
        var to = from + window;
        var cpu = new CpuWindow(worker.Id, context.SimulatorProcess.Id);
        await Load.ClosedLoopAsync(context.Broker, log, Name, inFlight, total: null, until: to,
            () => Clock.Now < from ? "warm-up" : "measured", chain: null, cancellationToken);
        var cpuUse = cpu.Stop(log.Completed);
        await AllResultsAsync(log, TimeSpan.FromSeconds(60 + 4 * latency), cancellationToken);
        var peakMb = worker.PeakWorkingSet / 1024.0 / 1024.0;

        var all = log.All;
        var done = all.Where(r => r.ResultAt >= from && r.ResultAt < to).ToList();
        var throughput = done.Count / (double)window;
        var bound = inFlight / latency;
        result.Check("throughput / Little's-law bound (in flight / latency)", throughput / bound, ">=", 0.8, "x");
        result.Check("peak working set of the worker", peakMb, "<", 400, "MB");
        result.Figure("throughput", throughput, "/s");
        result.Figure("bound", bound, "/s");
        var latencies = LatenciesMs(done);
        result.Figure("latency p50", Stats.Percentile(latencies, 50), "ms");
        result.Figure("p95", Stats.Percentile(latencies, 95), "ms");
        result.Figure("succeeded", Percent(all.Count(r => r.Succeeded), all.Count), "%");
        result.Figure("peak working set", peakMb, "MB");
        cpuUse.Report(result);
    }
}
