using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Worker.Contracts;

namespace Worker.Audit;

/// <summary>
/// Text as the audit trail stores it. PostgreSQL rejects NUL characters and invalid UTF-16 (in text and in jsonb),
/// and varchar columns reject over-long values: a producer's odd string must never make a row unwritable, because an
/// unwritable row would hold its message until it is faulted.
/// </summary>
internal static class AuditText
{
    /// <summary>Replaces NUL and lone surrogates with U+FFFD and cuts to <paramref name="maxLength"/> characters.</summary>
    public static string? Clean(string? value, int maxLength = int.MaxValue)
    {
        if (value is null)
        {
            return null;
        }

        if (value.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0)
        {
            // Encoding.UTF8 replaces what it cannot encode, i.e. unpaired surrogates.
            value = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(value));
        }

        if (value.Contains('\0'))
        {
            value = value.Replace('\0', '\uFFFD');
        }

        if (value.Length > maxLength)
        {
            // Never leave half of a surrogate pair at the end.
            var cut = char.IsHighSurrogate(value[maxLength - 1]) ? maxLength - 1 : maxLength;
            value = value[..cut];
        }

        return value;
    }

    /// <summary>Lower-case hex SHA-256 of the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static readonly JsonWriterOptions Canonical = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The canonical JSON of a conversation, which <c>prompt_hash</c> is the SHA-256 of and <c>prompt</c> stores:
    /// <c>[{"role":"user","content":"..."}]</c>, no whitespace, System.Text.Json's relaxed escaping. Null when there
    /// are no messages (an invalid request).
    /// </summary>
    public static string? PromptJson(IReadOnlyList<ChatMessage>? messages)
    {
        if (messages is null)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Canonical))
        {
            json.WriteStartArray();
            foreach (var message in messages)
            {
                if (message is null)
                {
                    json.WriteNullValue();
                    continue;
                }

                json.WriteStartObject();
                json.WriteString("role", Clean(message.Role));
                json.WriteString("content", Clean(message.Content));
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}

/// <summary>
/// The identity of a request's payload: what a producer may not change while reusing a request id. Metadata and the
/// deadline are left out (a producer's retry may refresh them); the chain is compared by name, case-insensitively.
/// </summary>
internal static class PayloadHash
{
    private static readonly JsonWriterOptions Canonical = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Lower-case hex SHA-256 of <c>{"messages":[{"role","content"}...],"chain":"default","maxOutputTokens":n,"temperature":t}</c>
    /// written without whitespace, nulls kept. Every delivery of the same request gives the same hash, whatever the
    /// field order or number formatting on the wire.
    /// </summary>
    public static string Of(CompletionRequested request)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Canonical))
        {
            json.WriteStartObject();
            json.WritePropertyName("messages");
            if (request.Messages is null)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteStartArray();
                foreach (var message in request.Messages)
                {
                    if (message is null)
                    {
                        json.WriteNullValue();
                        continue;
                    }

                    json.WriteStartObject();
                    json.WriteString("role", AuditText.Clean(message.Role));
                    json.WriteString("content", AuditText.Clean(message.Content));
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteString("chain", (request.Chain ?? Chain.ChainsOptions.DefaultChain).ToLowerInvariant());
            if (request.MaxOutputTokens is { } max)
                json.WriteNumber("maxOutputTokens", max);
            else
                json.WriteNull("maxOutputTokens");
            if (request.Temperature is { } t && double.IsFinite(t))
                json.WriteNumber("temperature", t);
            else
                json.WriteNull("temperature");
            json.WriteEndObject();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
    }
}

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
