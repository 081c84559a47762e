namespace Worker.OpsConsole;

/// <summary>One KPI tile: the figure over the window, its target and how it stands against it.</summary>
/// <param name="Value">The figure; null when the window holds nothing to compute it from.</param>
/// <param name="Target">Green at or better than this; null: no target, the figure is not judged.</param>
/// <param name="Amber">Amber up to this bound on the worse side of the target, red beyond.</param>
/// <param name="State">green, amber, red, or none (no figure, or no target).</param>
/// <param name="Definition">What the figure counts, in a sentence.</param>
public sealed record Kpi(string Name, double? Value, string Unit, double? Target, double? Amber, string State, string Definition);

/// <summary>The figures <see cref="KpiQuery"/> reads from the audit trail for a window.</summary>
/// <param name="Finished">Requests received in the window that reached an outcome (succeeded, failed or parked).</param>
/// <param name="Succeeded">Of those, the ones answered by a provider (not parked, not failed).</param>
/// <param name="FellBack">Of the succeeded, the ones answered by a step other than the chain's first.</param>
/// <param name="P95Seconds">95th percentile of completed minus received over the succeeded; null without any.</param>
/// <param name="Calls">Attempts started in the window (calls and skipped steps); zero: nothing to cost.</param>
/// <param name="CostUsd">USD of the attempts started in the window (unpriced calls count 0).</param>
/// <param name="Recoveries">Breaker recoveries (closings) in the window.</param>
/// <param name="MttrSeconds">Mean of those recoveries' durations, from the opening that started the outage; null without any.</param>
public sealed record KpiFigures(long Finished, long Succeeded, long FellBack, double? P95Seconds, long Calls, decimal CostUsd, long Recoveries, double? MttrSeconds)
{
    public double? Availability => Finished == 0 ? null : (double)Succeeded / Finished;

    public double? FallbackRate => Succeeded == 0 ? null : (double)FellBack / Succeeded;

    /// <summary>The answered requests that were routed by route hints, with their billed tokens and cost.</summary>
    public RoutedUsage Routed { get; init; } = RoutedUsage.None;

    /// <summary>What routing saved, estimated (<see cref="RoutedUsage.SavedAgainst"/>); null when nothing was routed or unpriced.</summary>
    public decimal? CostSavedUsd { get; init; }
}

/// <summary>Requests answered after routing by route hints, their billed tokens and what they cost.</summary>
public sealed record RoutedUsage(long Requests, long InputTokens, long OutputTokens, decimal CostUsd)
{
    public static readonly RoutedUsage None = new(0, 0, 0, 0);

    /// <summary>
    /// The same tokens at <paramref name="baseline"/>'s prices (the <c>default</c> chain's first model) minus what they cost;
    /// null when nothing was routed or the baseline has no price. An estimate: another model would have used another
    /// tokenizer and answer length, and might have needed a retry or a fallback.
    /// </summary>
    public decimal? SavedAgainst(Audit.ModelPrice? baseline)
    {
        if (Requests == 0 || baseline is null)
            return null;
        var atBaseline = InputTokens * baseline.InputPerMillion / 1_000_000m + OutputTokens * baseline.OutputPerMillion / 1_000_000m;
        return Math.Round(atBaseline - CostUsd, 6);
    }
}

/// <summary>Turns <see cref="KpiFigures"/> into tiles. No I/O: unit-tested on its own.</summary>
public static class Kpis
{
    public const string Availability = "availability";
    public const string FallbackRate = "fallback_rate";
    public const string Mttr = "mttr";
    public const string P95 = "p95";
    public const string Cost = "cost";
    public const string CostSaved = "cost_saved";

    public const string Green = "green";
    public const string Amber = "amber";
    public const string Red = "red";
    public const string None = "none";

    public static IReadOnlyList<Kpi> From(KpiFigures f, ConsoleTargets t) =>
    [
        new(Availability, Round(f.Availability, 6), "ratio", t.Availability, t.AvailabilityAmber,
            StateOf(f.Availability, t.Availability, t.AvailabilityAmber, higherIsBetter: true),
            "Of the requests received in the window that reached an outcome (succeeded, failed or parked), the share that succeeded: " +
            "answered by a provider. A parked request, a degraded last-resort answer (stale cache, template: parked too) and a failed one count against it."),
        new(FallbackRate, Round(f.FallbackRate, 6), "ratio", t.FallbackRate, t.FallbackRateAmber,
            StateOf(f.FallbackRate, t.FallbackRate, t.FallbackRateAmber, higherIsBetter: false),
            "Of the requests received in the window that succeeded, the share answered by a step other than their chain's (or route's) first."),
        new(Mttr, Round(f.MttrSeconds, 3), "s", t.MttrSeconds, t.MttrAmberSeconds,
            StateOf(f.MttrSeconds, t.MttrSeconds, t.MttrAmberSeconds, higherIsBetter: false),
            "Mean time to recovery: for every breaker that closed in the window (per provider, model and instance), the time from the opening " +
            "(or isolation by pings) that started its outage to the closing, averaged. Outages still open are not counted until they end."),
        new(P95, Round(f.P95Seconds, 3), "s", t.P95Seconds, t.P95AmberSeconds,
            StateOf(f.P95Seconds, t.P95Seconds, t.P95AmberSeconds, higherIsBetter: false),
            "95th percentile of end-to-end time (received to completed, waits and retries included) of the requests received in the window that succeeded."),
        new(Cost, f.Calls == 0 ? null : (double)Math.Round(f.CostUsd, 6), "USD", (double?)t.CostUsd, (double?)(t.CostAmberUsd ?? t.CostUsd),
            f.Calls == 0 ? None : StateOf((double)f.CostUsd, (double?)t.CostUsd, (double?)(t.CostAmberUsd ?? t.CostUsd), higherIsBetter: false),
            "USD of the provider calls started in the window, as priced from their token counts (calls of a model without a price count 0)."),
        new(CostSaved, f.CostSavedUsd is { } saved ? (double)saved : null, "USD", null, null, None,
            "What routing saved, estimated: for the requests received in the window that succeeded after routing by route hints, their billed " +
            "tokens priced at the default chain's first model, minus what they cost. Not judged against a target."),
    ];

    /// <summary>
    /// green at or better than <paramref name="target"/>, amber up to <paramref name="amber"/>, red beyond; none without
    /// a value or a target.
    /// </summary>
    public static string StateOf(double? value, double? target, double? amber, bool higherIsBetter)
    {
        if (value is not { } v || target is not { } t)
            return None;
        var a = amber ?? t;
        return higherIsBetter
            ? v >= t ? Green : v >= a ? Amber : Red
            : v <= t ? Green : v <= a ? Amber : Red;
    }

    private static double? Round(double? value, int digits) => value is { } v ? Math.Round(v, digits) : null;
}
