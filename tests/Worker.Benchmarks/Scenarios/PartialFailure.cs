using System.Globalization;
using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using static Worker.Benchmarks.Scenarios.Scenarios;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// What one partial-failure scenario injects and what it holds the worker to (issue 12's targets). Rates are per call;
/// a null bound is not checked.
/// </summary>
/// <param name="PrimaryRates">Fault name to share of the primary's calls (simulator names: 500, 503, 429, reset, ...).</param>
/// <param name="FallbackRates">The same for the fallback; empty for a healthy one.</param>
/// <param name="MaxFallbackPercent">At most this share of the requests answered by the fallback.</param>
/// <param name="MinPrimaryPercent">At least this share of the requests answered by the primary.</param>
/// <param name="Reference">The outside tester's figures for this profile, the gateway's and the worker's then.</param>
public sealed record PartialCase(
    string Name,
    string Title,
    string Faults,
    IReadOnlyDictionary<string, double> PrimaryRates,
    IReadOnlyDictionary<string, double> FallbackRates,
    double MinSuccessPercent,
    double? MaxFallbackPercent,
    double? MinPrimaryPercent,
    string Reference);

/// <summary>
/// 6a-6d. The primary fails part of its calls, in the shape of the outside tester's comparison with a gateway (issue 12):
/// 2,000 requests, 50 in flight (a closed loop), 50 ms per provider call, and the worker's default chain set to the
/// gateway's configuration: the primary with 2 retries, 1 s base delay and a 2 s attempt timeout, then the fallback
/// without retries. Everything else at its default. The audit trail counts each request's calls and the primary's skips.
/// </summary>
public sealed class PartialFailure(PartialCase @case) : IScenario
{
    private const string Primary = "gemini";
    private const string Fallback = "openai";

    /// <summary>The gateway's configuration as the worker's default chain (ChainStepOptions, environment form).</summary>
    public static readonly IReadOnlyDictionary<string, string> GatewayShapedChain = new Dictionary<string, string>
    {
        ["Chains__default__0__Provider"] = Primary,
        ["Chains__default__0__Model"] = "gemini-2.5-pro",
        ["Chains__default__0__MaxRetries"] = "2",
        ["Chains__default__0__BaseDelay"] = "00:00:01",
        ["Chains__default__0__Timeout"] = "00:00:02",
        ["Chains__default__1__Provider"] = Fallback,
        ["Chains__default__1__Model"] = "o3-mini",
        ["Chains__default__1__MaxRetries"] = "0",
    };

    public static readonly PartialCase ServerErrors = new("partial-5xx", "6a. Partial failures: 30 % server errors",
        "15 % 500 and 15 % 503 on the primary",
        new Dictionary<string, double> { ["500"] = 0.15, ["503"] = 0.15 }, new Dictionary<string, double>(),
        MinSuccessPercent: 100, MaxFallbackPercent: 5, MinPrimaryPercent: null,
        "Gateway: 100 % success, 52 of 2,000 answered by the fallback, 1.41 primary calls per request, p95 3,170 ms. " +
        "The worker as the tester measured it: 100 %, 706, 0.92, 2,975 ms");

    public static readonly PartialCase RateLimited = new("partial-429", "6b. Partial failures: 50 % 429",
        "50 % 429 with Retry-After 1 s on the primary",
        new Dictionary<string, double> { ["429"] = 0.5 }, new Dictionary<string, double>(),
        MinSuccessPercent: 100, MaxFallbackPercent: null, MinPrimaryPercent: 80,
        "Gateway: 100 % success, 265 of 2,000 answered by the fallback, 1.76 primary calls per request, p95 3,218 ms. " +
        "The worker as the tester measured it: 100 %, 1,835, 0.17, 1,453 ms");

    public static readonly PartialCase BothFlaky = new("partial-both", "6c. Partial failures: primary 50 % 503, fallback 20 % 500",
        "50 % 503 on the primary, 20 % 500 on the fallback",
        new Dictionary<string, double> { ["503"] = 0.5 }, new Dictionary<string, double> { ["500"] = 0.2 },
        MinSuccessPercent: 99, MaxFallbackPercent: null, MinPrimaryPercent: null,
        "Gateway: 97.7 % success, 218 of 2,000 answered by the fallback, 1.76 primary calls per request, p95 3,216 ms. " +
        "The worker as the tester measured it: 81.7 % (367 failed), 1,617, 0.02, 829 ms");

    public static readonly PartialCase Junk = new("partial-junk", "6d. Partial failures: 20 % junk",
        "5 % each of connection reset, malformed JSON, empty answer and SAFETY block on the primary",
        new Dictionary<string, double> { ["reset"] = 0.05, ["malformed"] = 0.05, ["empty"] = 0.05, ["safety"] = 0.05 }, new Dictionary<string, double>(),
        MinSuccessPercent: 100, MaxFallbackPercent: 12, MinPrimaryPercent: null,
        "Gateway: 83.4 % success, 0 answered by the fallback, 1.06 primary calls per request, p95 1,107 ms. " +
        "The worker as the tester measured it: 100 %, 816, 0.75, 726 ms");

    public static IReadOnlyList<PartialCase> Cases { get; } = [ServerErrors, RateLimited, BothFlaky, Junk];

    public string Name => @case.Name;

    public string Title => @case.Title;

    public TimeSpan TimeLimit(Sizes sizes) => TimeSpan.FromSeconds(180 + sizes.PartialRequests / 8.0);

    public async Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken)
    {
        var sizes = context.Sizes;
        foreach (var (key, value) in GatewayShapedChain)
            result.Settings[key] = value;
        result.Settings["requests"] = Number(sizes.PartialRequests);
        result.Settings["in flight"] = Number(sizes.Concurrency);
        result.Settings["faults"] = @case.Faults;
        result.Settings["provider latency"] = $"{sizes.ProviderLatencyMs} ms";

        await context.Simulator.SetFaultsAsync(Primary, new { latencyMs = sizes.ProviderLatencyMs, rates = @case.PrimaryRates, retryAfterSeconds = 1 }, cancellationToken);
        await context.Simulator.SetFaultsAsync(Fallback, new { latencyMs = sizes.ProviderLatencyMs, rates = @case.FallbackRates }, cancellationToken);
        await using var worker = await context.StartWorkerAsync(Name, GatewayShapedChain, waitUntilConsuming: true, cancellationToken);
        await context.Simulator.ClearCountersAsync(cancellationToken);
        var log = new RequestLog();
        context.Broker.Current = log;

        await Load.ClosedLoopAsync(context.Broker, log, Name, sizes.Concurrency, sizes.PartialRequests, null, () => Name, chain: null, cancellationToken);
        await AllResultsAsync(log, TimeSpan.FromSeconds(180), cancellationToken);

        var all = log.All;
        var ids = all.Select(r => r.Id).ToList();
        var audited = await AuditQueries.CallsAsync(context.Postgres, ids, Primary, cancellationToken);
        var longestBackoff = await AuditQueries.LongestBackoffMsAsync(context.Postgres, ids, Primary, cancellationToken);
        EnsureChainApplied(audited.Values, longestBackoff);
        var skips = await AuditQueries.SkipsAsync(context.Postgres, ids, Primary, cancellationToken);
        var latencies = LatenciesMs(all);
        var succeeded = Percent(all.Count(r => r.Succeeded), all.Count);
        var byFallback = all.Count(r => r.Succeeded && r.FallbackUsed);
        var byPrimary = all.Count(r => r.Succeeded && r.Outcome == Primary);

        result.Check("succeeded", succeeded, ">=", @case.MinSuccessPercent, "%");
        if (@case.MaxFallbackPercent is { } maxFallback)
            result.Check("answered by the fallback", Percent(byFallback, all.Count), "<=", maxFallback, "%");
        if (@case.MinPrimaryPercent is { } minPrimary)
            result.Check("answered by the primary", Percent(byPrimary, all.Count), ">=", minPrimary, "%");
        result.Figure("succeeded", succeeded, "%");
        result.Figure("answered by the fallback", Percent(byFallback, all.Count), "%");
        result.Figure("fallback answers", byFallback);
        result.Figure("answered by the primary", Percent(byPrimary, all.Count), "%");
        result.Figure("primary calls per request", audited.Values.Sum(a => a.PrimaryCalls) / (double)all.Count);
        result.Figure("provider calls per request", audited.Values.Sum(a => a.Calls) / (double)all.Count);
        result.Figure("p50", Stats.Percentile(latencies, 50), "ms");
        result.Figure("p95", Stats.Percentile(latencies, 95), "ms");
        result.Figure("p99", Stats.Percentile(latencies, 99), "ms");
        foreach (var (reason, count) in all.Where(r => !r.Succeeded).GroupBy(r => r.Outcome ?? "?").OrderByDescending(g => g.Count()).Select(g => (g.Key, g.Count())))
            result.Figure($"failed ({reason})", count);
        foreach (var (reason, count) in skips.OrderByDescending(s => s.Value))
            result.Figure($"primary not called ({reason})", count);
        if (longestBackoff is { } backoff)
            result.Figure("longest primary backoff", backoff, "ms");
        result.Notes.Add(@case.Reference);
    }

    /// <summary>
    /// Fails the run when the worker did not run the gateway-shaped chain (its built-in one retries the fallback once and
    /// backs off 5 s, then 10 s, on the primary): the figures would say nothing about the gateway's shape. A backoff after
    /// a server error takes at most 2 s plus 20 % jitter, and the call counts stay within the shape (see below).
    /// </summary>
    private static void EnsureChainApplied(IEnumerable<AuditedCalls> requests, double? longestBackoffMs)
    {
        var most = requests.Aggregate((Primary: 0, Fallback: 0), (m, a) => (Math.Max(m.Primary, a.PrimaryCalls), Math.Max(m.Fallback, a.Calls - a.PrimaryCalls)));
        // At most: the primary's 3 calls, one more after bad output and its last chance; the fallback's 1, one more after
        // bad output and its last chance. The default chain (2 retries, 5 s base) would show a backoff of 5 s or more.
        if (most.Primary > 5 || most.Fallback > 3 || longestBackoffMs > 2_400)
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"The chain settings did not take: a request made {most.Primary} primary and {most.Fallback} fallback calls, a backoff took {longestBackoffMs} ms"));
    }
}
