namespace Worker.Benchmarks.Reporting;

/// <summary>One request of a routing run as the report needs it.</summary>
/// <param name="CostUsd">The result's <c>costUsd</c>; null (no price known, or no result) counts as nothing.</param>
/// <param name="LatencyMs">End to end, publish to result; NaN without a result.</param>
public readonly record struct RoutedRequest(string Tier, bool Succeeded, decimal? CostUsd, double LatencyMs, string? Model);

/// <summary>End-to-end latency of one tier's requests that have a result.</summary>
public readonly record struct TierLatency(int Requests, double P50Ms, double P95Ms);

/// <summary>
/// What one run of the routing scenario came to: success, cost per 1,000 requests, latency per tier and who answered.
/// Pure arithmetic over the requests, unit-tested, so the saving the report states is the saving the figures give.
/// </summary>
public sealed record RoutingRun(string Name, int Requests, int Succeeded, decimal CostUsd, IReadOnlyDictionary<string, TierLatency> Tiers,
    IReadOnlyDictionary<string, int> AnsweredBy)
{
    public double SuccessPercent => Requests == 0 ? double.NaN : 100.0 * Succeeded / Requests;

    /// <summary>Every request counts, failed ones too: what 1,000 requests of this mix cost, whatever became of them.</summary>
    public double CostPer1000Usd => Requests == 0 ? double.NaN : (double)(CostUsd * 1000 / Requests);

    public static RoutingRun Of(string name, IReadOnlyCollection<RoutedRequest> requests)
    {
        var tiers = requests.GroupBy(r => r.Tier).ToDictionary(g => g.Key, g =>
        {
            var latencies = g.Where(r => !double.IsNaN(r.LatencyMs)).Select(r => r.LatencyMs).ToList();
            return new TierLatency(g.Count(), Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 95));
        });
        var answeredBy = requests.Where(r => r.Succeeded && r.Model is not null).GroupBy(r => r.Model!).ToDictionary(g => g.Key, g => g.Count());
        return new RoutingRun(name, requests.Count, requests.Count(r => r.Succeeded), requests.Sum(r => r.CostUsd ?? 0), tiers, answeredBy);
    }

    /// <summary>How much cheaper <paramref name="routed"/> is than <paramref name="baseline"/>, in percent of the baseline (negative: dearer).</summary>
    public static double SavingPercent(RoutingRun routed, RoutingRun baseline) =>
        100 * (1 - routed.CostPer1000Usd / baseline.CostPer1000Usd);
}
