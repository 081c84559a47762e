using Npgsql;
using NpgsqlTypes;

namespace Worker.Persistence;

/// <summary>
/// Typed parameters for the write path's SQL; a batch sends each column as one array for <c>unnest</c>. Times are written
/// as PostgreSQL keeps them (<see cref="Micro"/>).
/// </summary>
internal static class Sql
{
    /// <summary>PostgreSQL keeps microseconds: a value read back must equal the one written (the outcome write relies on it).</summary>
    public static DateTimeOffset Micro(DateTimeOffset time) => time.AddTicks(-(time.UtcTicks % 10));

    public static NpgsqlParameter Parameter(string name, NpgsqlDbType type, object? value) =>
        new(name, type) { Value = value ?? DBNull.Value };

    public static NpgsqlParameter Array<TRow, TValue>(string name, NpgsqlDbType type, IEnumerable<TRow> rows, Func<TRow, TValue> column) =>
        new(name, NpgsqlDbType.Array | type) { Value = rows.Select(column).ToArray() };
}
