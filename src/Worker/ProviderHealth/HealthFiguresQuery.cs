using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>A provider and model of the configured chains.</summary>
public readonly record struct ProviderModel(string Provider, string Model)
{
    public override string ToString() => $"{Provider}/{Model}";
}

/// <summary>
/// The providers and models health watches (pings, alerts, GET /providers). Chain implements it from the configured
/// chains (its <c>ChainCatalog</c>), so this feature needs no chain types.
/// </summary>
public interface IMonitoredModels
{
    /// <summary>Every distinct provider and model of the configured chains, in chain order.</summary>
    IReadOnlyList<ProviderModel> Models { get; }
}

/// <summary>The last ping of a provider and model.</summary>
public sealed record LastPing(DateTimeOffset At, string Outcome, int LatencyMs, string? ErrorClass, int? HttpStatus, string? Detail, string Instance);

/// <summary>
/// What the audit and health tables say about one provider and model at one instant: live traffic over the recent
/// window and its baseline, the recent pings, and breaker openings. States, alerts and GET /providers read these.
/// </summary>
/// <param name="Calls">Calls made in the window (skipped steps are not calls).</param>
/// <param name="Errors">Calls in the window that failed with a class that counts against the provider (server, network, timeout, bad_output, auth).</param>
/// <param name="OkCalls">Successful calls in the window; the latencies are theirs.</param>
/// <param name="BaselineP95Ms">p95 latency of successful calls over the baseline window, the recent window excluded.</param>
/// <param name="FirstStepRequests">Finished requests whose first step was this provider and model, started in the window.</param>
/// <param name="FellBack">Of those, the ones answered by a later step.</param>
/// <param name="RecentPingsDown">Of the last PingFailuresToIsolate pings (<paramref name="RecentPings"/> of them), how many were down.</param>
/// <param name="DownSince">When the current run of down pings started, if the newest ping is down.</param>
/// <param name="LastAuthFailure">The newest call or ping in the window rejected with auth.</param>
/// <param name="LastSuccess">The newest successful call in the window, or up ping.</param>
/// <param name="MostOpens">Breaker openings within the flapping window on the instance that had the most.</param>
public sealed record HealthFigures(
    ProviderModel Pair,
    long Calls,
    long Errors,
    long OkCalls,
    double? P50Ms,
    double? P95Ms,
    long BaselineCalls,
    double? BaselineP95Ms,
    long FirstStepRequests,
    long FellBack,
    LastPing? LastPing,
    int RecentPings,
    int RecentPingsDown,
    DateTimeOffset? DownSince,
    DateTimeOffset? LastAuthFailure,
    DateTimeOffset? LastSuccess,
    int MostOpens)
{
    public double? ErrorRate => Calls == 0 ? null : (double)Errors / Calls;

    public double? FallbackRate => FirstStepRequests == 0 ? null : (double)FellBack / FirstStepRequests;

    /// <summary>No calls, requests or pings to judge by.</summary>
    public static HealthFigures None(ProviderModel pair) => new(pair, 0, 0, 0, null, null, 0, null, 0, 0, null, 0, 0, null, null, null, 0);
}

/// <summary>Reads <see cref="HealthFigures"/> for a set of providers and models in one statement.</summary>
public sealed class HealthFiguresQuery(NpgsqlDataSource database, IOptions<ProviderHealthOptions> options)
{
    // Every lookup is bounded by time and goes through an index on (provider, model, time) or on time.
    private const string Sql = """
        WITH pairs AS (
            SELECT * FROM unnest(@providers::text[], @models::text[]) AS p(provider, model)
        ),
        recent AS (
            SELECT a.provider, a.model,
                   count(*) AS calls,
                   count(*) FILTER (WHERE a.error_class = ANY(@health_classes)) AS errors,
                   count(*) FILTER (WHERE a.outcome = 'ok') AS ok_calls,
                   percentile_cont(0.50) WITHIN GROUP (ORDER BY a.latency_ms) FILTER (WHERE a.outcome = 'ok') AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY a.latency_ms) FILTER (WHERE a.outcome = 'ok') AS p95,
                   max(a.started_at) FILTER (WHERE a.error_class = 'auth') AS last_auth,
                   max(a.started_at) FILTER (WHERE a.outcome = 'ok') AS last_ok
            FROM attempts a JOIN pairs USING (provider, model)
            WHERE a.started_at >= @since AND a.started_at <= @now AND a.call_made
            GROUP BY a.provider, a.model
        ),
        baseline AS (
            SELECT a.provider, a.model, count(*) AS calls,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY a.latency_ms) AS p95
            FROM attempts a JOIN pairs USING (provider, model)
            WHERE a.started_at >= @baseline_since AND a.started_at < @since AND a.call_made AND a.outcome = 'ok'
            GROUP BY a.provider, a.model
        ),
        fallbacks AS (
            SELECT w.provider, w.model, count(*) AS requests, count(*) FILTER (WHERE r.fallback_used) AS fell_back
            FROM (SELECT DISTINCT a.provider, a.model, a.request_id
                  FROM attempts a JOIN pairs USING (provider, model)
                  WHERE a.step_index = 0 AND a.started_at >= @since AND a.started_at <= @now) w
            JOIN requests r ON r.request_id = w.request_id
            WHERE r.status IN ('succeeded', 'failed')
            GROUP BY w.provider, w.model
        ),
        opens AS (
            SELECT provider, model, max(n) AS most
            FROM (SELECT e.provider, e.model, e.instance, count(*) AS n
                  FROM breaker_events e JOIN pairs USING (provider, model)
                  WHERE e.transition IN ('opened', 'isolated') AND e.at >= @flapping_since AND e.at <= @now
                  GROUP BY e.provider, e.model, e.instance) x
            GROUP BY provider, model
        )
        SELECT p.provider, p.model,
               coalesce(r.calls, 0), coalesce(r.errors, 0), coalesce(r.ok_calls, 0), r.p50, r.p95,
               coalesce(b.calls, 0), b.p95,
               coalesce(f.requests, 0), coalesce(f.fell_back, 0),
               lp.pinged_at, lp.outcome, lp.latency_ms, lp.error_class, lp.http_status, lp.detail, lp.instance,
               k.pings, k.down,
               ds.down_since,
               greatest(r.last_auth, pa.last_auth), greatest(r.last_ok, pu.last_up),
               coalesce(o.most, 0)::int
        FROM pairs p
        LEFT JOIN recent r USING (provider, model)
        LEFT JOIN baseline b USING (provider, model)
        LEFT JOIN fallbacks f USING (provider, model)
        LEFT JOIN opens o USING (provider, model)
        LEFT JOIN LATERAL (
            SELECT pinged_at, outcome, latency_ms, error_class, http_status, detail, instance FROM provider_pings
            WHERE provider = p.provider AND model = p.model AND pinged_at >= @baseline_since AND pinged_at <= @now
            ORDER BY pinged_at DESC LIMIT 1) lp ON true
        LEFT JOIN LATERAL (
            SELECT count(*)::int AS pings, count(*) FILTER (WHERE outcome = 'down')::int AS down
            FROM (SELECT outcome FROM provider_pings
                  WHERE provider = p.provider AND model = p.model AND pinged_at >= @baseline_since AND pinged_at <= @now
                  ORDER BY pinged_at DESC LIMIT @recent_pings) last) k ON true
        LEFT JOIN LATERAL (
            SELECT min(pinged_at) AS down_since FROM provider_pings
            WHERE provider = p.provider AND model = p.model AND pinged_at <= @now AND outcome = 'down'
              AND pinged_at > coalesce((SELECT max(pinged_at) FROM provider_pings
                                        WHERE provider = p.provider AND model = p.model AND outcome <> 'down'
                                          AND pinged_at >= @baseline_since AND pinged_at <= @now), @baseline_since)) ds ON true
        LEFT JOIN LATERAL (
            SELECT max(pinged_at) AS last_auth FROM provider_pings
            WHERE provider = p.provider AND model = p.model AND error_class = 'auth' AND pinged_at >= @since AND pinged_at <= @now) pa ON true
        LEFT JOIN LATERAL (
            SELECT max(pinged_at) AS last_up FROM provider_pings
            WHERE provider = p.provider AND model = p.model AND outcome = 'up' AND pinged_at >= @since AND pinged_at <= @now) pu ON true
        """;

    private static readonly string[] HealthClasses =
        [.. Enum.GetValues<ErrorClass>().Where(CircuitBreakers.CountsAgainstProvider).Select(c => c.ToWireName())];

    public async Task<IReadOnlyList<HealthFigures>> RunAsync(IReadOnlyList<ProviderModel> pairs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var since = now - settings.States.Window;
        await using var command = database.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<string[]>("providers", [.. pairs.Select(p => p.Provider)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("models", [.. pairs.Select(p => p.Model)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("health_classes", HealthClasses));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now.ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("since", since.ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("baseline_since", (now - settings.States.BaselineWindow).ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("flapping_since", (now - settings.Alerts.FlappingWindow).ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<int>("recent_pings", settings.PingFailuresToIsolate));

        var figures = new List<HealthFigures>(pairs.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            DateTimeOffset? Time(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
            double? Number(int i) => reader.IsDBNull(i) ? null : reader.GetDouble(i);
            figures.Add(new HealthFigures(
                new ProviderModel(reader.GetString(0), reader.GetString(1)),
                Calls: reader.GetInt64(2),
                Errors: reader.GetInt64(3),
                OkCalls: reader.GetInt64(4),
                P50Ms: Number(5),
                P95Ms: Number(6),
                BaselineCalls: reader.GetInt64(7),
                BaselineP95Ms: Number(8),
                FirstStepRequests: reader.GetInt64(9),
                FellBack: reader.GetInt64(10),
                LastPing: reader.IsDBNull(11) ? null : new LastPing(reader.GetFieldValue<DateTimeOffset>(11), reader.GetString(12), reader.GetInt32(13),
                    reader.IsDBNull(14) ? null : reader.GetString(14), reader.IsDBNull(15) ? null : reader.GetInt32(15),
                    reader.IsDBNull(16) ? null : reader.GetString(16), reader.GetString(17)),
                RecentPings: reader.IsDBNull(18) ? 0 : reader.GetInt32(18),
                RecentPingsDown: reader.IsDBNull(19) ? 0 : reader.GetInt32(19),
                DownSince: Time(20),
                LastAuthFailure: Time(21),
                LastSuccess: Time(22),
                MostOpens: reader.GetInt32(23)));
        }

        return figures;
    }
}
