using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
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

                CanonicalRequest.WriteMessage(json, message);
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>
    /// Writes a JSON value (tool arguments, a schema) with every string and property name cleaned as <see cref="Clean"/>
    /// does; JSON null for a missing value.
    /// </summary>
    public static void WriteClean(Utf8JsonWriter json, JsonElement? value)
    {
        if (value is not { ValueKind: not JsonValueKind.Undefined } element)
        {
            json.WriteNullValue();
            return;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                json.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    json.WritePropertyName(Clean(property.Name)!);
                    WriteClean(json, property.Value);
                }

                json.WriteEndObject();
                break;
            case JsonValueKind.Array:
                json.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                    WriteClean(json, item);
                json.WriteEndArray();
                break;
            case JsonValueKind.String:
                json.WriteStringValue(Clean(element.GetString()));
                break;
            default:
                element.WriteTo(json);
                break;
        }
    }

    /// <summary>
    /// <paramref name="value"/> with its strings cleaned, for a JSON value that goes into jsonb; the value itself when it
    /// holds nothing to clean (the common case: no escaped NUL or surrogate in its text).
    /// </summary>
    public static JsonElement? Clean(JsonElement? value)
    {
        if (value is not { ValueKind: not JsonValueKind.Undefined } element)
            return value;
        var raw = element.GetRawText();
        if (!raw.Contains("\\u0000", StringComparison.Ordinal) && !raw.Contains("\\ud", StringComparison.OrdinalIgnoreCase))
            return element;

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
            WriteClean(json, element);
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
