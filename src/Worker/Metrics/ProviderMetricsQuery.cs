using System.Text.Json;
using Npgsql;

namespace Worker.Metrics;

/// <summary>Per provider and model figures over a window, computed by PostgreSQL from the audit tables.</summary>
public sealed class ProviderMetricsQuery(NpgsqlDataSource dataSource)
{
    // One statement, one scan of the window (ix_attempts_started_at); the correlated look-ups go through
    // ix_attempts_request_id, so the cost grows with the window's rows, not with the table.
    // Definitions:
    // - calls: attempts where a call was made (skipped steps are not calls); latency and tokens are over calls.
    // - retry success: a failed call is rescued when a later call on the same provider and model, for the same
    //   request, succeeded. Rescue by another model is a fallback, counted below, not a retry.
    // - fallback: of the finished requests (succeeded or failed) whose step 0 ran on this provider and model within
    //   the window, the share answered by a later step. Requests still running are left out: they have not ended.
    // - recovery: a failure streak starts at a failed call whose previous call in the window (same provider and
    //   model) succeeded or does not exist; it recovers at the next successful call. Start to start.
    private const string Sql = """
        WITH windowed AS MATERIALIZED (
            SELECT id, request_id, step_index, provider, model, started_at, latency_ms, call_made, outcome,
                   error_class, input_tokens, output_tokens, cost_usd
            FROM attempts
            WHERE started_at >= @since
        ),
        calls AS (
            SELECT * FROM windowed WHERE call_made
        ),
        totals AS (
            SELECT provider, model,
                   count(*) AS calls,
                   count(*) FILTER (WHERE outcome = 'error') AS errors,
                   percentile_cont(0.50) WITHIN GROUP (ORDER BY latency_ms) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99,
                   coalesce(sum(input_tokens), 0) AS input_tokens,
                   coalesce(sum(output_tokens), 0) AS output_tokens,
                   sum(cost_usd) AS cost_usd
            FROM calls
            GROUP BY provider, model
        ),
        error_classes AS (
            SELECT provider, model, jsonb_object_agg(error_class, n) AS by_class
            FROM (SELECT provider, model, coalesce(error_class, 'unclassified') AS error_class, count(*) AS n
                  FROM calls
                  WHERE outcome = 'error'
                  GROUP BY 1, 2, 3) c
            GROUP BY provider, model
        ),
        rescues AS (
            SELECT provider, model, count(*) AS failed, count(*) FILTER (WHERE rescued) AS rescued
            FROM (SELECT f.provider, f.model,
                         EXISTS (SELECT 1 FROM attempts s
                                 WHERE s.request_id = f.request_id AND s.provider = f.provider AND s.model = f.model
                                   AND s.outcome = 'ok' AND s.started_at > f.started_at) AS rescued
                  FROM calls f
                  WHERE f.outcome = 'error') x
            GROUP BY provider, model
        ),
        fallbacks AS (
            SELECT provider, model, count(*) AS requests, count(*) FILTER (WHERE fell_back) AS fell_back
            FROM (SELECT w.provider, w.model,
                         EXISTS (SELECT 1 FROM attempts s
                                 WHERE s.request_id = w.request_id AND s.step_index > 0 AND s.outcome = 'ok') AS fell_back
                  FROM (SELECT DISTINCT provider, model, request_id FROM windowed WHERE step_index = 0) w
                  JOIN requests r ON r.request_id = w.request_id
                  WHERE r.status IN ('succeeded', 'failed')) x
            GROUP BY provider, model
        ),
        -- The next success after each call, as a running minimum over the calls in reverse order: a frame that starts at
        -- the partition's first row grows one row at a time (linear), where "1 FOLLOWING to UNBOUNDED FOLLOWING" would be
        -- aggregated afresh for every row (quadratic: a minute per 30,000 calls).
        sequenced AS (
            SELECT provider, model, started_at, outcome,
                   lag(outcome) OVER (PARTITION BY provider, model ORDER BY started_at, id) AS previous_outcome,
                   min(started_at) FILTER (WHERE outcome = 'ok')
                       OVER (PARTITION BY provider, model ORDER BY started_at DESC, id DESC
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS next_ok
            FROM calls
        ),
        recoveries AS (
            SELECT provider, model,
                   count(*) AS streaks,
                   count(next_ok) AS recovered,
                   avg(extract(epoch FROM next_ok - started_at) * 1000)::float8 AS mttr_ms
            FROM sequenced
            WHERE outcome = 'error' AND (previous_outcome IS NULL OR previous_outcome = 'ok')
            GROUP BY provider, model
        )
        SELECT k.provider, k.model,
               coalesce(t.calls, 0), coalesce(t.errors, 0), e.by_class::text,
               t.p50, t.p95, t.p99,
               coalesce(r.failed, 0), coalesce(r.rescued, 0),
               coalesce(f.requests, 0), coalesce(f.fell_back, 0),
               coalesce(m.streaks, 0), coalesce(m.recovered, 0), m.mttr_ms,
               coalesce(t.input_tokens, 0), coalesce(t.output_tokens, 0), t.cost_usd
        FROM (SELECT DISTINCT provider, model FROM windowed) k
        LEFT JOIN totals t USING (provider, model)
        LEFT JOIN error_classes e USING (provider, model)
        LEFT JOIN rescues r USING (provider, model)
        LEFT JOIN fallbacks f USING (provider, model)
        LEFT JOIN recoveries m USING (provider, model)
        ORDER BY k.provider, k.model
        """;

    public async Task<IReadOnlyList<ProviderMetrics>> RunAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("since", since.ToUniversalTime()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);

        var rows = new List<ProviderMetrics>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var calls = reader.GetInt64(2);
            var errors = reader.GetInt64(3);
            var byClass = reader.IsDBNull(4)
                ? new Dictionary<string, long>()
                : JsonSerializer.Deserialize<Dictionary<string, long>>(reader.GetString(4)) ?? [];
            var failed = reader.GetInt64(8);
            var rescued = reader.GetInt64(9);
            var firstStepRequests = reader.GetInt64(10);
            var fellBack = reader.GetInt64(11);

            rows.Add(new ProviderMetrics(
                Provider: reader.GetString(0),
                Model: reader.GetString(1),
                Calls: calls,
                Errors: errors,
                ErrorRate: Rate(errors, calls),
                ErrorsByClass: byClass.ToDictionary(c => c.Key, c => new ErrorClassMetrics(c.Value, Rate(c.Value, calls) ?? 0)),
                LatencyMs: reader.IsDBNull(5) ? null : new LatencyMetrics(Ms(reader.GetDouble(5)), Ms(reader.GetDouble(6)), Ms(reader.GetDouble(7))),
                Retry: new RetryMetrics(failed, rescued, Rate(rescued, failed)),
                Fallback: new FallbackMetrics(firstStepRequests, fellBack, Rate(fellBack, firstStepRequests)),
                Recovery: new RecoveryMetrics(reader.GetInt64(12), reader.GetInt64(13), reader.IsDBNull(14) ? null : Math.Round(reader.GetDouble(14))),
                InputTokens: reader.GetInt64(15),
                OutputTokens: reader.GetInt64(16),
                CostUsd: reader.IsDBNull(17) ? null : reader.GetDecimal(17)));
        }

        return rows;
    }

    private static double? Rate(long part, long whole) => whole == 0 ? null : Math.Round((double)part / whole, 4);

    private static double Ms(double value) => Math.Round(value, 1);
}

/// <summary>One provider and model over the window. Rates are 0..1, null when nothing was there to count.</summary>
public sealed record ProviderMetrics(
    string Provider,
    string Model,
    long Calls,
    long Errors,
    double? ErrorRate,
    IReadOnlyDictionary<string, ErrorClassMetrics> ErrorsByClass,
    LatencyMetrics? LatencyMs,
    RetryMetrics Retry,
    FallbackMetrics Fallback,
    RecoveryMetrics Recovery,
    long InputTokens,
    long OutputTokens,
    decimal? CostUsd);

/// <summary>Failed calls of one error class; <see cref="Rate"/> is their share of all calls.</summary>
public sealed record ErrorClassMetrics(long Count, double Rate);

/// <summary>Latency percentiles over all calls made, failed ones included (a timeout is latency the caller paid).</summary>
public sealed record LatencyMetrics(double P50, double P95, double P99);

/// <summary>Failed calls, and how many a later call on the same provider and model rescued for the same request.</summary>
public sealed record RetryMetrics(long FailedCalls, long Rescued, double? SuccessRate);

/// <summary>Finished requests whose first step was this provider and model, and how many another step answered.</summary>
public sealed record FallbackMetrics(long Requests, long FellBack, double? Rate);

/// <summary>Failure streaks started in the window, how many recovered, and the mean time to the recovering call.</summary>
public sealed record RecoveryMetrics(long FailureStreaks, long Recovered, double? MeanTimeToRecoveryMs);
