using Npgsql;
using Worker.Persistence;

namespace Worker.OpsConsole;

/// <summary>Reads <see cref="KpiFigures"/> for a window from the audit trail, in one statement.</summary>
public sealed class KpiQuery(NpgsqlDataSource dataSource)
{
    // Requests through ix_requests_status_received_at (the window is on received_at: completed_at has no index), attempts
    // through ix_attempts_started_at, breaker closings through ix_breaker_events_at and the opening that started each
    // outage through ix_breaker_events_provider_model_at. Each part's cost grows with the window, not the tables.
    private static readonly string Sql = $"""
        WITH finished AS (
            SELECT status, fallback_used, received_at, completed_at, route->>'tier' AS tier, input_tokens, output_tokens, estimated_cost_usd
            FROM requests
            WHERE status IN ('{RequestStatus.Succeeded}', '{RequestStatus.Failed}', '{RequestStatus.Parked}')
              AND received_at >= @since AND received_at < @until
        ),
        req AS (
            SELECT count(*) AS finished,
                   count(*) FILTER (WHERE status = '{RequestStatus.Succeeded}') AS succeeded,
                   count(*) FILTER (WHERE status = '{RequestStatus.Succeeded}' AND fallback_used) AS fell_back,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - received_at))
                       FILTER (WHERE status = '{RequestStatus.Succeeded}' AND completed_at IS NOT NULL) AS p95_s,
                   -- Routed by route hints (a tier that is not "chain:<name>"), answered: what cost_saved is estimated from.
                   count(*) FILTER (WHERE status = '{RequestStatus.Succeeded}' AND tier NOT LIKE 'chain:%') AS routed,
                   coalesce(sum(input_tokens::bigint) FILTER (WHERE status = '{RequestStatus.Succeeded}' AND tier NOT LIKE 'chain:%'), 0) AS routed_in,
                   coalesce(sum(output_tokens::bigint) FILTER (WHERE status = '{RequestStatus.Succeeded}' AND tier NOT LIKE 'chain:%'), 0) AS routed_out,
                   coalesce(sum(estimated_cost_usd) FILTER (WHERE status = '{RequestStatus.Succeeded}' AND tier NOT LIKE 'chain:%'), 0) AS routed_cost
            FROM finished
        ),
        spend AS (
            SELECT count(*) AS attempts, coalesce(sum(cost_usd), 0) AS cost_usd
            FROM attempts
            WHERE started_at >= @since AND started_at < @until
        ),
        recoveries AS (
            SELECT extract(epoch FROM c.at - o.opened_at) AS took_s
            FROM breaker_events c
            CROSS JOIN LATERAL (
                SELECT min(e.at) AS opened_at
                FROM breaker_events e
                WHERE e.provider = c.provider AND e.model = c.model AND e.instance = c.instance
                  AND e.transition IN ('{BreakerTransition.Opened}', '{BreakerTransition.Isolated}') AND e.at <= c.at
                  AND e.at > coalesce((SELECT max(p.at) FROM breaker_events p
                                       WHERE p.provider = c.provider AND p.model = c.model AND p.instance = c.instance
                                         AND p.transition = '{BreakerTransition.Closed}' AND p.at < c.at), '-infinity')) o
            WHERE c.transition = '{BreakerTransition.Closed}' AND c.at >= @since AND c.at < @until AND o.opened_at IS NOT NULL
        )
        SELECT req.finished, req.succeeded, req.fell_back, req.p95_s,
               spend.attempts, spend.cost_usd,
               (SELECT count(*) FROM recoveries), (SELECT avg(took_s)::float8 FROM recoveries),
               req.routed, req.routed_in, req.routed_out, req.routed_cost
        FROM req, spend
        """;

    public async Task<KpiFigures> RunAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("since", since.ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("until", until.ToUniversalTime()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new KpiFigures(
            Finished: reader.GetInt64(0),
            Succeeded: reader.GetInt64(1),
            FellBack: reader.GetInt64(2),
            P95Seconds: reader.IsDBNull(3) ? null : reader.GetDouble(3),
            Calls: reader.GetInt64(4),
            CostUsd: reader.GetDecimal(5),
            Recoveries: reader.GetInt64(6),
            MttrSeconds: reader.IsDBNull(7) ? null : reader.GetDouble(7))
        {
            Routed = new RoutedUsage(reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetDecimal(11)),
        };
    }
}
