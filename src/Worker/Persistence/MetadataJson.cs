using System.Text.Json;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Worker.Audit;

namespace Worker.Persistence;

/// <summary>The producer's metadata as a jsonb object (Npgsql's default for a dictionary would be hstore).</summary>
internal static class MetadataJson
{
    public static string Write(IReadOnlyDictionary<string, string> metadata) => JsonSerializer.Serialize(metadata);

    public static Dictionary<string, string> Read(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];

    /// <summary>A copy safe to store: keys and values cleaned (jsonb rejects <c>\u0000</c>), null values kept as null.</summary>
    public static Dictionary<string, string>? Clean(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        var clean = new Dictionary<string, string>(metadata.Count);
        foreach (var (key, value) in metadata)
        {
            // Indexer, not Add: two keys that differ only by a NUL must not throw.
            clean[AuditText.Clean(key) ?? ""] = AuditText.Clean(value)!;
        }

        return clean;
    }

    // EF never hands a null to a converter: null stays SQL NULL.
    public static readonly ValueConverter<Dictionary<string, string>?, string> Converter =
        new(d => Write(d!), s => Read(s));

    public static readonly ValueComparer<Dictionary<string, string>?> Comparer = new(
        (a, b) => a == null ? b == null : b != null && a.Count == b.Count && !a.Except(b).Any(),
        d => d == null ? 0 : d.Aggregate(0, (hash, kv) => hash ^ HashCode.Combine(kv.Key, kv.Value)),
        d => d == null ? null : new Dictionary<string, string>(d));
}
