using System.Security.Cryptography;
using System.Text.Json;
using Worker.Audit;
using Worker.Contracts;

namespace Worker.LastResort;

/// <summary>
/// The response cache's key: what makes two requests ask the same thing. Lower-case hex SHA-256 of canonical JSON
/// (no whitespace, fixed field order, nulls kept):
/// <c>{"v":1,"chain":"default","messages":[{"role","content"}...],"maxOutputTokens":n,"temperature":t,"route":{...},"tenant":"..."}</c>.
/// The chain is the one that serves the request (a route's chain), lower-cased as chain names match case-insensitively.
/// Route hints and the tenant count when present: another forced model is another answer, and one tenant never gets an
/// answer cached for another. Metadata, deadline, conversation and request ids do not count.
/// </summary>
public static class CacheKey
{
    /// <summary>Bumped when the canonical form changes, so that old entries are simply never hit again.</summary>
    private const int Version = 1;

    public static string Of(CompletionRequested request, string chain)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, CanonicalRequest.Options))
        {
            json.WriteStartObject();
            json.WriteNumber("v", Version);
            json.WriteString("chain", chain.ToLowerInvariant());
            json.WriteStartArray("messages");
            foreach (var message in request.Messages)
            {
                CanonicalRequest.WriteMessage(json, message);
            }

            json.WriteEndArray();
            CanonicalRequest.WriteGeneration(json, request);
            if (request.Tenant is { } tenant)
                json.WriteString("tenant", AuditText.Clean(tenant)!.ToLowerInvariant());
            json.WriteEndObject();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
    }
}
