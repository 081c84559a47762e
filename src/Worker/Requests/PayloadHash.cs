using System.Security.Cryptography;
using System.Text.Json;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;

namespace Worker.Requests;

/// <summary>
/// The identity of a request's payload: what a producer may not change while reusing a request id. Metadata and the
/// deadline are left out (a producer's retry may refresh them); the chain is compared by name, case-insensitively. The
/// route hints and the tenant count when present: another route or budget is another request. Priority and sheddable are
/// left out like the deadline: they say when and whether to run it, and a producer's retry may raise them.
/// </summary>
internal static class PayloadHash
{
    /// <summary>
    /// Lower-case hex SHA-256 of <c>{"messages":[{"role","content"}...],"chain":"default","maxOutputTokens":n,"temperature":t}</c>
    /// written without whitespace, nulls kept. Every delivery of the same request gives the same hash, whatever the
    /// field order or number formatting on the wire.
    /// </summary>
    public static string Of(CompletionRequested request)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, CanonicalRequest.Options))
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

                    CanonicalRequest.WriteMessage(json, message);
                }

                json.WriteEndArray();
            }

            json.WriteString("chain", (request.Chain ?? ChainsOptions.DefaultChain).ToLowerInvariant());
            CanonicalRequest.WriteGeneration(json, request);
            if (request.Tenant is { } tenant)
                json.WriteString("tenant", AuditText.Clean(tenant));
            if (request.Cache is { } cache)
            {
                json.WriteStartObject("cache");
                if (cache.Use is { } use)
                    json.WriteBoolean("use", use);
                else
                    json.WriteNull("use");
                if (cache.MaxAgeSeconds is { } age)
                    json.WriteNumber("maxAgeSeconds", age);
                else
                    json.WriteNull("maxAgeSeconds");
                json.WriteEndObject();
            }

            if (request.AllowDegraded)
                json.WriteBoolean("allowDegraded", true);
            json.WriteEndObject();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
    }
}
