using System.Text.Encodings.Web;
using System.Text.Json;
using Worker.Contracts;

namespace Worker.Audit;

/// <summary>
/// The canonical JSON of a request's parts that decide its answer, shared by the two hashes built from it (the payload
/// hash of an idempotency key, and the response cache's key), so that both read a request the same way: no whitespace,
/// fixed field order, nulls kept, whatever the field order or number formatting on the wire.
/// </summary>
public static class CanonicalRequest
{
    /// <summary>Writer options for canonical JSON: no whitespace, and text written as it is rather than escaped.</summary>
    public static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Writes <c>"maxOutputTokens":n,"temperature":t</c>, then <c>"route":{...}</c> only when the request has route hints,
    /// so a request without them reads as it did before they existed.
    /// </summary>
    public static void WriteGeneration(Utf8JsonWriter json, CompletionRequested request)
    {
        if (request.MaxOutputTokens is { } max)
            json.WriteNumber("maxOutputTokens", max);
        else
            json.WriteNull("maxOutputTokens");
        if (request.Temperature is { } t && double.IsFinite(t))
            json.WriteNumber("temperature", t);
        else
            json.WriteNull("temperature");
        if (request.Route is not { } route)
            return;

        json.WriteStartObject("route");
        json.WriteString("complexity", route.Complexity);
        json.WriteString("quality", route.Quality);
        if (route.MaxCostUsd is { } cap)
            json.WriteNumber("maxCostUsd", cap);
        else
            json.WriteNull("maxCostUsd");
        json.WriteString("provider", route.Provider?.ToLowerInvariant());
        json.WriteString("model", route.Model);
        if (route.FallbackAllowed is { } fallback)
            json.WriteBoolean("fallbackAllowed", fallback);
        else
            json.WriteNull("fallbackAllowed");
        json.WriteEndObject();
    }
}
