using Worker.ProviderHealth;

namespace Worker.Routing;

/// <summary>What the router knows of one candidate when it ranks: its live figures, health and estimated cost.</summary>
/// <param name="ErrorRate">Over ProviderHealth:States:Window; null below its MinCalls (too few calls to say).</param>
/// <param name="P95Ms">p95 latency of successful calls over the window; null below MinCalls.</param>
/// <param name="QuotaLeft">The share of the provider's quota left, 0 to 1; null when unknown.</param>
/// <param name="CostUsd">Estimated cost of this request on it; null when the model has no price.</param>
public sealed record Candidate(string Provider, string Model, HealthState Health, double? ErrorRate, double? P95Ms, double? QuotaLeft, decimal? CostUsd)
{
    public override string ToString() => $"{Provider}/{Model}";
}

/// <summary>
/// Orders candidates by health class (healthy and degraded, then critical or out of quota, then offline), then by a weighted score of
/// reliability, latency, quota left and cost; a candidate passes an earlier one only when it scores better by more than
/// the margin, so a quiet system keeps the configured order. No I/O: every rule is unit-tested.
/// </summary>
public static class Ranking
{
    public static IReadOnlyList<Candidate> Order(IReadOnlyList<Candidate> configured, RankingWeights weights, double margin)
    {
        var fastest = configured.Select(c => c.P95Ms).Where(p => p > 0).DefaultIfEmpty(null).Min();
        var cheapest = configured.Select(c => c.CostUsd).Where(c => c > 0).DefaultIfEmpty(null).Min();
        var scored = configured.Select(c => (Candidate: c, Class: ClassOf(c), Score: Score(c, weights, fastest, cheapest))).ToList();

        // Insertion keeps the configured order among near-equals: a candidate goes before the first one it clearly beats.
        var ordered = new List<(Candidate Candidate, int Class, double Score)>();
        foreach (var next in scored)
        {
            var at = ordered.FindIndex(o => next.Class < o.Class || (next.Class == o.Class && next.Score > o.Score + margin));
            ordered.Insert(at < 0 ? ordered.Count : at, next);
        }

        return [.. ordered.Select(o => o.Candidate)];
    }

    /// <summary>The weighted score in [0, sum of weights]; an unknown figure counts as the best.</summary>
    public static double Score(Candidate c, RankingWeights weights, double? fastestP95Ms, decimal? cheapestUsd)
    {
        var reliability = 1 - (c.ErrorRate ?? 0);
        var latency = c.P95Ms is > 0 && fastestP95Ms is > 0 ? fastestP95Ms.Value / c.P95Ms.Value : 1;
        var availability = c.QuotaLeft is { } left ? Math.Clamp(left, 0, 1) : 1;
        var cost = c.CostUsd is > 0 && cheapestUsd is > 0 ? (double)(cheapestUsd.Value / c.CostUsd.Value) : 1;
        return weights.Reliability * reliability + weights.Latency * latency + weights.Availability * availability + weights.Cost * cost;
    }

    /// <summary>
    /// 0: may be used; 1: critical, or its quota spent until the reset, tried after the others; 2: offline, last (its
    /// breaker skips it unless it has come back).
    /// </summary>
    private static int ClassOf(Candidate c) => c.Health switch
    {
        HealthState.Offline => 2,
        HealthState.Critical => 1,
        _ when c.QuotaLeft <= 0 => 1,
        _ => 0,
    };
}
