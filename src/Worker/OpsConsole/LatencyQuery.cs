using Npgsql;

namespace Worker.OpsConsole;

/// <summary>
/// <see cref="LatencyFigures"/> per provider and model: p95 of successful calls over the last hour and over the 7 days
/// before it, for the latency drift rule. One scan of 7 days of attempts through ix_attempts_started_at.
/// </summary>
public sealed class LatencyQuery(NpgsqlDataSource dataSource)
{
    private const string Sql = """
        SELECT provider, model,
               count(*) FILTER (WHERE started_at >= @hour_since) AS hour_calls,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE started_at >= @hour_since) AS hour_p95,
               count(*) FILTER (WHERE started_at < @hour_since) AS week_calls,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE started_at < @hour_since) AS week_p95
        FROM attempts
        WHERE started_at >= @week_since AND started_at < @now AND call_made AND outcome = 'ok'
        GROUP BY provider, model
        HAVING count(*) FILTER (WHERE started_at >= @hour_since) > 0
        ORDER BY provider, model
        """;

    public async Task<IReadOnlyList<LatencyFigures>> RunAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now.ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("hour_since", (now - TimeSpan.FromHours(1)).ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("week_since", (now - TimeSpan.FromHours(1) - TimeSpan.FromDays(7)).ToUniversalTime()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<LatencyFigures>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new LatencyFigures(reader.GetString(0), reader.GetString(1),
                reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetDouble(3),
                reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetDouble(5)));
        }

        return rows;
    }
}
