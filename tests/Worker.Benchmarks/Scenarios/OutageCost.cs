using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using static Worker.Benchmarks.Scenarios.Scenarios;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// 3. The primary hard down (every call 503), the fallback healthy, at default settings, in the shape of the Portkey
/// anchor (2,000 requests, 50 in flight). First a reference run on a chain holding the fallback alone gives the
/// fallback's own end-to-end latency through the same worker; then the outage run. The audit trail says how many primary
/// calls each request made, so the breaker's effect is counted exactly (health pings are not requests).
/// </summary>
public sealed class OutageCost : IScenario
{
    private const string FallbackOnly = "fallback-only";

    public string Name => "outage";

    public string Title => "3. Outage cost";

    public TimeSpan TimeLimit(Sizes sizes) => TimeSpan.FromSeconds(180 + (sizes.OutageRequests + sizes.OutageReferenceRequests) / 20.0);

    public async Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken)
    {
        var sizes = context.Sizes;
        var settings = new Dictionary<string, string>
        {
            [$"Chains__{FallbackOnly}__0__Provider"] = "openai",
            [$"Chains__{FallbackOnly}__0__Model"] = "o3-mini",
        };
        result.Settings["requests"] = $"{sizes.OutageRequests} (reference {sizes.OutageReferenceRequests})";
        result.Settings["in flight"] = Number(sizes.Concurrency);
        result.Settings["primary"] = "always 503";
        result.Settings["fallback latency"] = $"{sizes.ProviderLatencyMs} ms";
        result.Settings["worker"] = "default chain, breaker and backoff settings";

        await context.Simulator.SetFaultsAsync("openai", new { latencyMs = sizes.ProviderLatencyMs }, cancellationToken);
        await using var worker = await context.StartWorkerAsync(Name, settings, waitUntilConsuming: true, cancellationToken);
        var timeout = TimeSpan.FromSeconds(120);

        // Warm-up (JIT, connections) on the fallback's chain, so the reference is not a cold start. Not on the default
        // chain: its successes would sit in the primary breaker's 30 s sampling window and delay its opening, while the
        // anchor's primary is down from the start.
        var warmUp = new RequestLog();
        context.Broker.Current = warmUp;
        await Load.ClosedLoopAsync(context.Broker, warmUp, Name, sizes.Concurrency, sizes.Concurrency * 4, null, () => "warm-up", FallbackOnly, cancellationToken);
        await AllResultsAsync(warmUp, timeout, cancellationToken);

        var reference = new RequestLog();
        context.Broker.Current = reference;
        await Load.ClosedLoopAsync(context.Broker, reference, Name, sizes.Concurrency, sizes.OutageReferenceRequests, null, () => "reference", FallbackOnly, cancellationToken);
        await AllResultsAsync(reference, timeout, cancellationToken);
        if (reference.All.Where(r => !r.Succeeded || r.Outcome != "openai").ToList() is { Count: > 0 } wrong)
            throw new InvalidOperationException($"{wrong.Count} reference requests were not answered by the fallback (first: {wrong[0].Outcome})");
        var referenceLatencies = LatenciesMs(reference.All);

        await context.Simulator.SetFaultsAsync("gemini", new { always = "503" }, cancellationToken);
        await context.Simulator.ClearCountersAsync(cancellationToken);
        var log = new RequestLog();
        context.Broker.Current = log;
        await Load.ClosedLoopAsync(context.Broker, log, Name, sizes.Concurrency, sizes.OutageRequests, null, () => "outage", chain: null, cancellationToken);
        await AllResultsAsync(log, timeout, cancellationToken);
        var simulatorPrimaryCalls = await context.Simulator.CallsAsync("gemini", cancellationToken);

        var all = log.All.OrderBy(r => r.PublishedAt).ToList();
        var audited = await AuditQueries.CallsAsync(context.Postgres, [.. all.Select(r => r.Id)], "gemini", cancellationToken);
        int Primary(RequestRecord r) => audited.TryGetValue(r.Id, out var calls) ? calls.PrimaryCalls : 0;
        // The breaker is open from the first result that reached the fallback without calling the primary.
        var openedAt = all.Where(r => r.Succeeded && audited.ContainsKey(r.Id) && Primary(r) == 0).Select(r => r.ResultAt!.Value).DefaultIfEmpty(double.NaN).Min();
        var after = all.Where(r => r.PublishedAt > openedAt).ToList();
        var latencies = LatenciesMs(all);
        var p95 = Stats.Percentile(latencies, 95);
        var referenceP95 = Stats.Percentile(referenceLatencies, 95);

        result.Check("primary calls per request after the breaker opened", after.Count == 0 ? double.NaN : after.Sum(Primary) / (double)after.Count, "<=", 0.05);
        result.Check("p95 latency / the fallback's own p95", p95 / referenceP95, "<=", 1.2, "x");
        result.Figure("succeeded", Percent(all.Count(r => r.Succeeded), all.Count), "%");
        result.Figure("p50", Stats.Percentile(latencies, 50), "ms");
        result.Figure("p95", p95, "ms");
        result.Figure("fallback alone p50", Stats.Percentile(referenceLatencies, 50), "ms");
        result.Figure("fallback alone p95", referenceP95, "ms");
        result.Figure("primary calls per request, all", all.Sum(Primary) / (double)all.Count);
        result.Figure("requests that called the primary", all.Count(r => Primary(r) > 0));
        result.Figure("primary calls seen by the simulator (pings included)", simulatorPrimaryCalls);
        result.Notes.Add($"Before the breaker opened, {all.Count(r => r.PublishedAt <= openedAt)} requests were already in flight; " +
                         "those that had called the primary paid its backoff (5 s base) before falling back");
    }
}
