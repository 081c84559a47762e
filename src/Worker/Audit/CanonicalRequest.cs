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
    /// Writes one message: <c>{"role","content"}</c>, then <c>toolCalls</c> and <c>toolCallId</c> only when it has them, so a
    /// plain message reads as it did before tool turns existed.
    /// </summary>
    public static void WriteMessage(Utf8JsonWriter json, ChatMessage message)
    {
        json.WriteStartObject();
        json.WriteString("role", AuditText.Clean(message.Role));
        json.WriteString("content", AuditText.Clean(message.Content));
        if (message.ToolCalls is { } calls)
        {
            json.WriteStartArray("toolCalls");
            foreach (var call in calls)
            {
                if (call is null)
                {
                    json.WriteNullValue();
                    continue;
                }

                json.WriteStartObject();
                json.WriteString("id", AuditText.Clean(call.Id));
                json.WriteString("name", AuditText.Clean(call.Name));
                json.WritePropertyName("arguments");
                AuditText.WriteClean(json, call.Arguments);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        if (message.ToolCallId is { } id)
            json.WriteString("toolCallId", AuditText.Clean(id));
        json.WriteEndObject();
    }

    /// <summary>
    /// Writes <c>"maxOutputTokens":n,"temperature":t</c>, then <c>"route":{...}</c>, <c>"tools":[...]</c>,
    /// <c>"toolChoice"</c> and <c>"responseFormat":{...}</c> each only when the request has it, so a request without them
    /// reads as it did before they existed.
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
        WriteStructure(json, request);
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

    /// <summary>Tools, tool choice and response format: they decide the answer as much as the messages do.</summary>
    private static void WriteStructure(Utf8JsonWriter json, CompletionRequested request)
    {
        if (request.Tools is { } tools)
        {
            json.WriteStartArray("tools");
            foreach (var tool in tools)
            {
                if (tool is null)
                {
                    json.WriteNullValue();
                    continue;
                }

                json.WriteStartObject();
                json.WriteString("name", AuditText.Clean(tool.Name));
                json.WriteString("description", AuditText.Clean(tool.Description));
                json.WritePropertyName("parameters");
                AuditText.WriteClean(json, tool.Parameters);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        if (request.ToolChoice is { } choice)
        {
            json.WriteStartObject("toolChoice");
            json.WriteString("mode", AuditText.Clean(choice.Mode));
            json.WriteString("name", AuditText.Clean(choice.Name));
            json.WriteEndObject();
        }

        if (request.ResponseFormat is { } format)
        {
            json.WriteStartObject("responseFormat");
            json.WriteString("type", AuditText.Clean(format.Type));
            json.WriteString("name", AuditText.Clean(format.Name));
            json.WritePropertyName("schema");
            AuditText.WriteClean(json, format.Schema);
            if (format.Strict is { } strict)
                json.WriteBoolean("strict", strict);
            else
                json.WriteNull("strict");
            json.WriteEndObject();
        }
    }
}
