using System.Globalization;
using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using static Worker.Benchmarks.Scenarios.Scenarios;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// 4. Steady load; the primary goes down for 30 s (the simulator's outage window) and comes back. Measured: seconds from
/// its return until at least 90 % of new requests are served by it again (every run of 20 consecutive requests), at the
/// default ping interval of 30 s and every other setting at its default.
/// </summary>
public sealed class Recovery : IScenario
{
    private const double WarmUpSeconds = 5;
    private const double StableSeconds = 10;

    public string Name => "recovery";

    public string Title => "4. Recovery";

    public TimeSpan TimeLimit(Sizes sizes) => TimeSpan.FromSeconds(120 + WarmUpSeconds + sizes.RecoveryOutageSeconds + MaxWait(sizes));

    // Recovery can take a full ping interval plus a ping sync (5 s); beyond that and some slack, stop looking.
    private static double MaxWait(Sizes sizes) => sizes.RecoveryPingSeconds + 5 + 25;

    public async Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken)
    {
        var sizes = context.Sizes;
        var settings = new Dictionary<string, string> { ["ProviderHealth__PingInterval"] = Seconds(sizes.RecoveryPingSeconds) };
        foreach (var (key, value) in settings)
            result.Settings[key] = value;
        result.Settings["load"] = $"{sizes.RecoveryRate} requests/s";
        result.Settings["outage"] = $"{sizes.RecoveryOutageSeconds} s of 503";
        result.Settings["provider latency"] = $"{sizes.ProviderLatencyMs} ms";

        await context.Simulator.SetFaultsAsync("gemini", new { latencyMs = sizes.ProviderLatencyMs }, cancellationToken);
        await context.Simulator.SetFaultsAsync("openai", new { latencyMs = sizes.ProviderLatencyMs }, cancellationToken);
        await using var worker = await context.StartWorkerAsync(Name, settings, waitUntilConsuming: true, cancellationToken);
        var log = new RequestLog();
        context.Broker.Current = log;

        var stop = false;
        double downAt = double.MaxValue, returnedAt = double.MaxValue;
        var load = Load.OpenLoopAsync(context.Broker, log, Name, sizes.RecoveryRate, WarmUpSeconds + sizes.RecoveryOutageSeconds + MaxWait(sizes),
            () => Clock.Now < downAt ? "before" : Clock.Now < returnedAt ? "outage" : "after", cancellationToken, () => Volatile.Read(ref stop));
        await Task.Delay(TimeSpan.FromSeconds(WarmUpSeconds), cancellationToken);
        downAt = Clock.Now;
        var target = await context.Simulator.SetFaultsAsync("gemini",
            new { outageSeconds = sizes.RecoveryOutageSeconds, latencyMs = sizes.ProviderLatencyMs }, cancellationToken);
        returnedAt = Clock.FromWall(DateTimeOffset.Parse(target.GetProperty("outageEndsAt").GetString()!, CultureInfo.InvariantCulture));

        double? recoveredAt = null;
        while (!load.IsCompleted)
        {
            await Task.WhenAny(load, Task.Delay(1000, cancellationToken));
            recoveredAt = Stats.RecoveredAt(After(log, returnedAt));
            if (recoveredAt is { } at && Clock.Now - at >= StableSeconds)
                Volatile.Write(ref stop, true);
        }

        await load;
        await AllResultsAsync(log, TimeSpan.FromSeconds(60), cancellationToken);
        recoveredAt = Stats.RecoveredAt(After(log, returnedAt));

        var all = log.All;
        var during = all.Where(r => r.Tag == "outage").ToList();
        result.Check("seconds from the primary's return to 90 % of requests served by it", (recoveredAt ?? double.NaN) - returnedAt, "<=", 30, "s");
        result.Figure("succeeded", Percent(all.Count(r => r.Succeeded), all.Count), "%");
        result.Figure("served by the fallback during the outage", Percent(during.Count(r => r.Outcome == "openai"), during.Count), "%");
        result.Figure("requests", all.Count);
        if (recoveredAt is null)
            result.Notes.Add($"Traffic did not come back to the primary within {MaxWait(sizes):0} s of its return");
        result.Notes.Add($"By design traffic returns at the first successful health ping after the return (within PingInterval, " +
                         $"{sizes.RecoveryPingSeconds} s, pings fall on wall-clock slot boundaries) plus the ping sync (SyncInterval, 5 s), " +
                         "or earlier when a half-open breaker lets a live request through");
    }

    private static List<(double PublishedAt, bool ByPrimary)> After(RequestLog log, double returnedAt) =>
        [.. log.All.Where(r => r.PublishedAt >= returnedAt && r.ResultAt is not null).OrderBy(r => r.PublishedAt).Select(r => (r.PublishedAt, r.Outcome == "gemini"))];
}
