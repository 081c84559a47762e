using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using static Worker.Benchmarks.Scenarios.Scenarios;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// 6. A flaky primary: 30 % of its calls fail, 5 % each of 500, 503, 429, hang, connection reset and malformed JSON, in
/// the Portkey anchor's shape (2,000 requests, 50 in flight, 50 ms, hangs cut by a 2 s attempt timeout). Everything else
/// at default settings. No target: success rate, provider calls per request and p95, next to Portkey's figures.
/// </summary>
public sealed class FlakyPrimary : IScenario
{
    private static readonly Dictionary<string, double> Rates = new()
    {
        ["500"] = 0.05, ["503"] = 0.05, ["429"] = 0.05, ["hang"] = 0.05, ["reset"] = 0.05, ["malformed"] = 0.05,
    };

    public string Name => "flaky";

    public string Title => "6. Flaky primary";

    public TimeSpan TimeLimit(Sizes sizes) => TimeSpan.FromSeconds(180 + sizes.FlakyRequests / 8.0);

    public async Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken)
    {
        var sizes = context.Sizes;
        var settings = new Dictionary<string, string> { ["Providers__gemini__Timeout"] = Seconds(sizes.FlakyTimeoutSeconds) };
        foreach (var (key, value) in settings)
            result.Settings[key] = value;
        result.Settings["requests"] = Number(sizes.FlakyRequests);
        result.Settings["in flight"] = Number(sizes.Concurrency);
        result.Settings["primary faults"] = "5 % each of 500, 503, 429 (Retry-After 1 s), hang, reset, malformed";
        result.Settings["provider latency"] = $"{sizes.ProviderLatencyMs} ms";

        await context.Simulator.SetFaultsAsync("gemini", new { latencyMs = sizes.ProviderLatencyMs, rates = Rates, retryAfterSeconds = 1 }, cancellationToken);
        await context.Simulator.SetFaultsAsync("openai", new { latencyMs = sizes.ProviderLatencyMs }, cancellationToken);
        await using var worker = await context.StartWorkerAsync(Name, settings, waitUntilConsuming: true, cancellationToken);
        await context.Simulator.ClearCountersAsync(cancellationToken);
        var log = new RequestLog();
        context.Broker.Current = log;

        await Load.ClosedLoopAsync(context.Broker, log, Name, sizes.Concurrency, sizes.FlakyRequests, null, () => "flaky", chain: null, cancellationToken);
        await AllResultsAsync(log, TimeSpan.FromSeconds(180), cancellationToken);

        var all = log.All;
        var audited = await AuditQueries.CallsAsync(context.Postgres, [.. all.Select(r => r.Id)], "gemini", cancellationToken);
        var skips = await AuditQueries.SkipsAsync(context.Postgres, [.. all.Select(r => r.Id)], cancellationToken);
        var latencies = LatenciesMs(all);
        result.Figure("succeeded", Percent(all.Count(r => r.Succeeded), all.Count), "%");
        result.Figure("provider calls per request", audited.Values.Sum(a => a.Calls) / (double)all.Count);
        result.Figure("primary calls per request", audited.Values.Sum(a => a.PrimaryCalls) / (double)all.Count);
        result.Figure("answered by the fallback", Percent(all.Count(r => r.FallbackUsed), all.Count), "%");
        result.Figure("p50", Stats.Percentile(latencies, 50), "ms");
        result.Figure("p95", Stats.Percentile(latencies, 95), "ms");
        result.Figure("p99", Stats.Percentile(latencies, 99), "ms");
        foreach (var (reason, count) in skips.OrderByDescending(s => s.Value))
            result.Figure($"primary skipped ({reason})", count);
        result.Notes.Add("Portkey on the same kind of machine, 30 % 500/503 only: 100 % success, 1.41 primary calls per request, p95 3.2 s");
    }
}
