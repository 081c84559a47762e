using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary><c>GET /providers</c> (ops API): every provider and model of the configured chains, as this instance sees them.</summary>
public static class ProvidersEndpoint
{
    public static async Task<Ok<ProvidersReport>> GetAsync(
        IMonitoredModels monitored,
        HealthFiguresQuery figures,
        ProviderAlerts alerts,
        CircuitBreakers breakers,
        RateBudgets budgets,
        LiveInstances instances,
        IOptions<PacingSection> pacing,
        IOptions<ProviderHealthOptions> options,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var pairs = monitored.Models;
        var open = await alerts.OpenAsync(pairs, cancellationToken);
        var views = new List<ProviderView>(pairs.Count);
        foreach (var f in await figures.RunAsync(pairs, now, cancellationToken))
        {
            var (provider, model) = (f.Pair.Provider, f.Pair.Model);
            var (breaker, openSince) = breakers.StatusOf(provider, model);
            var verdict = HealthStates.Derive(f, breaker, settings);
            pacing.Value.TryGetValue(provider, out var limits);
            views.Add(new ProviderView(
                provider,
                model,
                verdict.State.ToWireName(),
                verdict.Reason,
                new BreakerView(breaker.ToWireName(), openSince),
                f.LastPing is { } p ? new PingView(p.At, p.Outcome, p.LatencyMs, p.ErrorClass, p.HttpStatus, p.Detail, p.Instance) : null,
                new TrafficView(f.Calls, f.Errors, Round(f.ErrorRate, 4), Round(f.P50Ms, 1), Round(f.P95Ms, 1), Round(f.BaselineP95Ms, 1),
                    f.FirstStepRequests, Round(f.FallbackRate, 4)),
                budgets.CallsInLastMinute(provider),
                PacingView.Of(limits, budgets.RequestsPerMinuteHere(provider), budgets.Concurrency.StatusOf(provider)),
                QuotaView.Of(budgets.Quotas.StatusOf(provider, model), now),
                [.. open.Where(a => a.Provider == provider && a.Model == model).Select(a => new AlertView(a.Id, a.Rule, a.RaisedAt, a.Detail))]));
        }

        return TypedResults.Ok(new ProvidersReport(now, settings.InstanceName, instances.Count, settings.PingInterval, settings.States.Window, views));
    }

    private static double? Round(double? value, int digits) => value is { } v ? Math.Round(v, digits) : null;
}

/// <summary>The report. <see cref="Window"/> is the recent window the traffic figures cover.</summary>
/// <param name="LiveInstances">Instances this one last counted alive; each paces its share of the per-minute budgets.</param>
public sealed record ProvidersReport(DateTimeOffset At, string Instance, int LiveInstances, TimeSpan PingInterval, TimeSpan Window, IReadOnlyList<ProviderView> Providers);

/// <param name="State">healthy, degraded, critical or offline.</param>
/// <param name="Breaker">This instance's breaker for the provider and model.</param>
/// <param name="Recent">Live traffic over the recent window, all instances.</param>
/// <param name="CallsLastMinute">This instance's calls to the provider (all its models) in the last minute, as paced.</param>
/// <param name="Pacing">The provider's limits; 0 means none.</param>
/// <param name="Quota">What this instance knows of the provider and model's remaining quota.</param>
/// <param name="Alerts">Open alerts of the provider and model.</param>
public sealed record ProviderView(
    string Provider,
    string Model,
    string State,
    string StateReason,
    BreakerView Breaker,
    PingView? LastPing,
    TrafficView Recent,
    int CallsLastMinute,
    PacingView Pacing,
    QuotaView Quota,
    IReadOnlyList<AlertView> Alerts);

/// <param name="State">closed, open, half_open or isolated.</param>
/// <param name="OpenSince">When it opened, while it is not closed.</param>
public sealed record BreakerView(string State, DateTimeOffset? OpenSince);

public sealed record PingView(DateTimeOffset At, string Outcome, int LatencyMs, string? ErrorClass, int? HttpStatus, string? Detail, string Instance);

/// <param name="Errors">Failed calls whose class counts against the provider (server, network, timeout, bad_output, auth).</param>
/// <param name="P50Ms">Latency percentiles of the successful calls.</param>
/// <param name="FallbackRate">Of the finished requests that started on this provider and model, the share a later step answered.</param>
public sealed record TrafficView(long Calls, long Errors, double? ErrorRate, double? P50Ms, double? P95Ms, double? BaselineP95Ms, long Requests, double? FallbackRate);

/// <param name="RequestsPerMinute">The cluster's budget, as configured.</param>
/// <param name="RequestsPerMinuteHere">This instance's share of it (the budget over the live instances, at least 1); 0: no limit.</param>
/// <param name="InFlightLimit">The in-flight limit this instance learnt from the provider's 429s; null: none.</param>
/// <param name="InFlight">This instance's calls to the provider in flight now.</param>
public sealed record PacingView(int RequestsPerMinute, int RequestsPerMinuteHere, int TokensPerMinute, TimeSpan MaxWait, int? InFlightLimit, int InFlight)
{
    public static PacingView Of(PacingOptions? limits, int requestsPerMinuteHere, (int? Limit, int InFlight) concurrency) =>
        new(limits?.RequestsPerMinute ?? 0, requestsPerMinuteHere, limits?.TokensPerMinute ?? 0, limits?.MaxWait ?? TimeSpan.Zero, concurrency.Limit, concurrency.InFlight);
}

/// <param name="RemainingFraction">What routing sees (<see cref="IQuotaView"/>): the lowest fresh fraction, 0..1; null: nothing known.</param>
/// <param name="ReadAt">When the latest rate-limit headers were read (this instance's calls and pings); null: none yet.</param>
/// <param name="Requests">The requests window of those headers.</param>
/// <param name="Tokens">The tokens window of those headers.</param>
/// <param name="Daily">The configured daily quota and today's use (UTC); null: none configured.</param>
public sealed record QuotaView(double? RemainingFraction, DateTimeOffset? ReadAt, QuotaWindowView? Requests, QuotaWindowView? Tokens, DailyQuotaStatus? Daily)
{
    public static QuotaView Of(QuotaStatus status, DateTimeOffset now)
    {
        var r = status.Reading;
        QuotaWindowView? Window(QuotaWindow? w) => w is { } x && r is not null
            ? new QuotaWindowView(x.Remaining, x.Limit, x.ResetAt, Fresh: QuotaStatus.IsFresh(x, r, now))
            : null;
        return new QuotaView(status.RemainingFraction is { } f ? Math.Round(f, 4) : null, r?.At, Window(r?.Requests), Window(r?.Tokens), status.Daily);
    }
}

/// <param name="Fresh">False once <paramref name="ResetAt"/> (or a minute, without one) has passed: the window no longer counts.</param>
public sealed record QuotaWindowView(long Remaining, long? Limit, DateTimeOffset? ResetAt, bool Fresh);

public sealed record AlertView(Guid Id, string Rule, DateTimeOffset RaisedAt, string Detail);
