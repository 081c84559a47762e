using System.Text.Json;
using Npgsql;
using Worker.Persistence;

namespace Worker.OpsConsole;

/// <summary>
/// Per provider and model, the window cut into buckets (<see cref="ConsoleWindow.Bucket"/>): calls, errors by class,
/// p95 latency and fallback rate, from the attempts. One statement: one scan of the window through
/// ix_attempts_started_at, every bucket present (generate_series) so a quiet minute shows as zero, not as a gap.
/// </summary>
public sealed class SeriesQuery(NpgsqlDataSource dataSource)
{
    // Buckets are aligned on whole multiples of the bucket since 2000-01-01 UTC, so a minute bucket starts on the minute.
    private static readonly string Sql = $"""
        WITH calls AS MATERIALIZED (
            SELECT date_bin(@bucket, started_at, @origin) AS at, provider, model, outcome, error_class, latency_ms, step_index, request_id
            FROM attempts
            WHERE started_at >= @since AND started_at < @until AND call_made
        ),
        pairs AS (
            SELECT DISTINCT provider, model FROM calls
        ),
        buckets AS (
            SELECT generate_series(date_bin(@bucket, @since, @origin), @until - interval '1 microsecond', @bucket) AS at
        ),
        totals AS (
            SELECT at, provider, model, count(*) AS calls, count(*) FILTER (WHERE outcome = 'error') AS errors,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95
            FROM calls
            GROUP BY 1, 2, 3
        ),
        classes AS (
            SELECT at, provider, model, jsonb_object_agg(error_class, n) AS by_class
            FROM (SELECT at, provider, model, coalesce(error_class, 'unclassified') AS error_class, count(*) AS n
                  FROM calls WHERE outcome = 'error' GROUP BY 1, 2, 3, 4) c
            GROUP BY 1, 2, 3
        ),
        fallbacks AS (
            SELECT f.at, f.provider, f.model, count(*) AS requests, count(*) FILTER (WHERE r.fallback_used) AS fell_back
            FROM (SELECT DISTINCT ON (request_id, provider, model) at, provider, model, request_id
                  FROM calls WHERE step_index = 0 ORDER BY request_id, provider, model, at) f
            JOIN requests r ON r.request_id = f.request_id
            WHERE r.status IN ('{RequestStatus.Succeeded}', '{RequestStatus.Failed}')
            GROUP BY 1, 2, 3
        )
        SELECT p.provider, p.model, b.at,
               coalesce(t.calls, 0), coalesce(t.errors, 0), c.by_class::text, t.p95,
               coalesce(f.requests, 0), coalesce(f.fell_back, 0)
        FROM pairs p CROSS JOIN buckets b
        LEFT JOIN totals t ON t.at = b.at AND t.provider = p.provider AND t.model = p.model
        LEFT JOIN classes c ON c.at = b.at AND c.provider = p.provider AND c.model = p.model
        LEFT JOIN fallbacks f ON f.at = b.at AND f.provider = p.provider AND f.model = p.model
        ORDER BY p.provider, p.model, b.at
        """;

    private static readonly DateTimeOffset Origin = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public async Task<IReadOnlyList<ProviderSeries>> RunAsync(DateTimeOffset since, DateTimeOffset until, TimeSpan bucket, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("since", since.ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("until", until.ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("origin", Origin));
        command.Parameters.Add(new NpgsqlParameter<TimeSpan>("bucket", bucket));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);

        var series = new List<ProviderSeries>();
        List<SeriesPoint>? points = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            var (provider, model) = (reader.GetString(0), reader.GetString(1));
            if (series.Count == 0 || series[^1].Provider != provider || series[^1].Model != model)
            {
                points = [];
                series.Add(new ProviderSeries(provider, model, points));
            }

            var calls = reader.GetInt64(3);
            var errors = reader.GetInt64(4);
            var requests = reader.GetInt64(7);
            var fellBack = reader.GetInt64(8);
            points!.Add(new SeriesPoint(
                reader.GetFieldValue<DateTimeOffset>(2),
                calls,
                errors,
                Rate(errors, calls),
                reader.IsDBNull(5) ? new Dictionary<string, long>() : JsonSerializer.Deserialize<Dictionary<string, long>>(reader.GetString(5)) ?? [],
                reader.IsDBNull(6) ? null : Math.Round(reader.GetDouble(6), 1),
                requests,
                Rate(fellBack, requests)));
        }

        return series;
    }

    private static double? Rate(long part, long whole) => whole == 0 ? null : Math.Round((double)part / whole, 4);
}

/// <summary>One provider and model's points, oldest bucket first, one per bucket of the window.</summary>
public sealed record ProviderSeries(string Provider, string Model, IReadOnlyList<SeriesPoint> Points);

/// <summary>One bucket starting at <see cref="At"/>.</summary>
/// <param name="Calls">Calls made (skipped steps are not calls) started in the bucket.</param>
/// <param name="ErrorRate">errors / calls; null without calls.</param>
/// <param name="P95Ms">p95 latency of the bucket's calls, failed ones included; null without calls.</param>
/// <param name="Requests">Finished requests (succeeded or failed) whose first step started here in the bucket.</param>
/// <param name="FallbackRate">Of those, the share answered by a later step; null without any.</param>
public sealed record SeriesPoint(DateTimeOffset At, long Calls, long Errors, double? ErrorRate, IReadOnlyDictionary<string, long> ErrorsByClass, double? P95Ms, long Requests, double? FallbackRate);
