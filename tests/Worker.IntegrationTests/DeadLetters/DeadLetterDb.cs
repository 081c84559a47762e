using Npgsql;
using Worker.IntegrationTests.Infrastructure;

namespace Worker.IntegrationTests.DeadLetters;

/// <summary>Reads of the dead-letter tables for assertions.</summary>
public static class DeadLetterDb
{
    /// <summary>
    /// Waits for the dead letter whose body is <paramref name="body"/> (the error queue is ingested in the background)
    /// and returns its columns by name.
    /// </summary>
    public static async Task<Dictionary<string, object?>> WaitForBodyAsync(NpgsqlDataSource db, string body)
    {
        var row = await Eventually.ValueAsync(async () =>
        {
            await using var command = db.CreateCommand(
                "SELECT id, request_id, source, status, reason, exception_type, error, stack_trace, body, content_type, headers::text AS headers, " +
                "message::text AS message, group_key, faulted_at FROM dead_letters WHERE body = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = body });
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync()
                ? Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i))
                : null;
        }, found => found is not null, TestEnvironment.ResultTimeout, $"a dead letter with body '{body}' to be ingested");
        return row!;
    }

    public static async Task<string?> StatusAsync(NpgsqlDataSource db, Guid id)
    {
        await using var command = db.CreateCommand("SELECT status FROM dead_letters WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return (string?)await command.ExecuteScalarAsync();
    }
}
