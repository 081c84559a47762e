using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using static Worker.Benchmarks.Scenarios.Scenarios;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// 5. What the worker adds to each request at a steady 200 requests/s against a 50 ms provider: the time from publish to
/// result minus the time spent inside the provider call, as the worker's own audit trail timed it (started_at..ended_at).
/// What remains is the broker both ways, the consumer, validation, both audit writes and the result publish.
/// </summary>
public sealed class Overhead : IScenario
{
    private const double WarmUpSeconds = 5;

    public string Name => "overhead";

    public string Title => "5. Overhead";

    public TimeSpan TimeLimit(Sizes sizes) => TimeSpan.FromSeconds(150 + WarmUpSeconds + sizes.OverheadSeconds);

    public async Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken)
    {
        var sizes = context.Sizes;
        result.Settings["load"] = $"{sizes.OverheadRate} requests/s for {sizes.OverheadSeconds} s after {WarmUpSeconds:0} s of warm-up";
        result.Settings["provider latency"] = $"{sizes.ProviderLatencyMs} ms";
        result.Settings["worker"] = "default settings";

        await context.Simulator.SetFaultsAsync("gemini", new { latencyMs = sizes.ProviderLatencyMs }, cancellationToken);
        await using var worker = await context.StartWorkerAsync(Name, new Dictionary<string, string>(), waitUntilConsuming: true, cancellationToken);
        var log = new RequestLog();
        context.Broker.Current = log;

        var measureFrom = Clock.Now + WarmUpSeconds;
        var cpu = new CpuWindow(worker.Id, context.SimulatorProcess.Id);
        await Load.OpenLoopAsync(context.Broker, log, Name, sizes.OverheadRate, WarmUpSeconds + sizes.OverheadSeconds,
            () => Clock.Now < measureFrom ? "warm-up" : "measured", cancellationToken);
        var cpuUse = cpu.Stop(log.Published);
        await AllResultsAsync(log, TimeSpan.FromSeconds(60), cancellationToken);

        var measured = log.All.Where(r => r.Tag == "measured").ToList();
        var audited = await AuditQueries.CallsAsync(context.Postgres, [.. measured.Select(r => r.Id)], "gemini", cancellationToken);
        var added = measured.Where(r => r.Succeeded && audited.ContainsKey(r.Id))
            .Select(r => (r.LatencySeconds - audited[r.Id].ProviderSeconds) * 1000).ToList();
        var endToEnd = LatenciesMs(measured);
        var provider = audited.Values.Select(a => a.ProviderSeconds * 1000).ToList();

        result.Check("added latency p50 (end to end minus provider call)", Stats.Percentile(added, 50), "<", 5, "ms");
        result.Check("added latency p99", Stats.Percentile(added, 99), "<", 25, "ms");
        result.Figure("achieved rate", measured.Count / (double)sizes.OverheadSeconds, "/s");
        result.Figure("end to end p50", Stats.Percentile(endToEnd, 50), "ms");
        result.Figure("p99", Stats.Percentile(endToEnd, 99), "ms");
        result.Figure("provider call p50", Stats.Percentile(provider, 50), "ms");
        result.Figure("p99", Stats.Percentile(provider, 99), "ms");
        result.Figure("added p90", Stats.Percentile(added, 90), "ms");
        result.Figure("succeeded", Percent(measured.Count(r => r.Succeeded), measured.Count), "%");
        cpuUse.Report(result);
    }
}
