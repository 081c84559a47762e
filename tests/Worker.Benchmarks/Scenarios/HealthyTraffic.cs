using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using static Worker.Benchmarks.Scenarios.Scenarios;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// 8. Healthy traffic (issue 11): 50 requests kept in flight (a closed loop) against a 50 ms provider, the worker at its
/// default settings, after a warm-up. Measured: completions per second against the gateway's 420/s on the same kind of
/// machine, the end-to-end latency, and the CPU the worker and PostgreSQL spend per request.
/// </summary>
public sealed class HealthyTraffic : IScenario
{
    /// <summary>The gateway's throughput on the same machine and load (p95 179 ms).</summary>
    private const double GatewayPerSecond = 420;

    public string Name => "healthy";

    public string Title => "8. Healthy traffic";

    public TimeSpan TimeLimit(Sizes sizes) => TimeSpan.FromSeconds(150 + (sizes.HealthyWarmUpRequests + sizes.HealthyRequests) / 50.0);

    public async Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken)
    {
        var sizes = context.Sizes;
        result.Settings["requests"] = $"{sizes.HealthyRequests} after {sizes.HealthyWarmUpRequests} of warm-up";
        result.Settings["in flight"] = Number(sizes.Concurrency);
        result.Settings["provider latency"] = $"{sizes.ProviderLatencyMs} ms";
        result.Settings["worker"] = "default settings";

        await context.Simulator.SetFaultsAsync("gemini", new { latencyMs = sizes.ProviderLatencyMs }, cancellationToken);
        await using var worker = await context.StartWorkerAsync(Name, new Dictionary<string, string>(), waitUntilConsuming: true, cancellationToken);
        var timeout = TimeSpan.FromSeconds(120);

        var warmUp = new RequestLog();
        context.Broker.Current = warmUp;
        await Load.ClosedLoopAsync(context.Broker, warmUp, Name, sizes.Concurrency, sizes.HealthyWarmUpRequests, null, () => "warm-up", chain: null, cancellationToken);
        await AllResultsAsync(warmUp, timeout, cancellationToken);

        var log = new RequestLog();
        context.Broker.Current = log;
        var cpu = new CpuWindow(worker.Id, context.SimulatorProcess.Id);
        var started = Clock.Now;
        await Load.ClosedLoopAsync(context.Broker, log, Name, sizes.Concurrency, sizes.HealthyRequests, null, () => "measured", chain: null, cancellationToken);
        await AllResultsAsync(log, timeout, cancellationToken);
        var seconds = Clock.Now - started;
        var cpuUse = cpu.Stop(sizes.HealthyRequests);
        var peakMb = worker.PeakWorkingSet / 1024.0 / 1024.0;

        var all = log.All;
        var latencies = LatenciesMs(all);
        var throughput = all.Count / seconds;
        result.Check("completions per second", throughput, ">=", GatewayPerSecond, "/s");
        result.Check("worker CPU per request", cpuUse.ProcessMs, "<=", 1.5, "ms");
        result.Figure("completions per second", throughput, "/s");
        result.Figure("end to end p50", Stats.Percentile(latencies, 50), "ms");
        result.Figure("p95", Stats.Percentile(latencies, 95), "ms");
        result.Figure("p99", Stats.Percentile(latencies, 99), "ms");
        result.Figure("succeeded", Percent(all.Count(r => r.Succeeded), all.Count), "%");
        result.Figure("peak working set", peakMb, "MB");
        cpuUse.Report(result);
        result.Notes.Add($"Gateway on the same machine and load: {GatewayPerSecond:0}/s, p95 179 ms. Throughput counts every measured request " +
                         "from the first publish to the last result, CPU over the same window");
    }
}
