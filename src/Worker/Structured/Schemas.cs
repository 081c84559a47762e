using System.Collections.Concurrent;
using System.Text.Json;
using Json.Schema;

namespace Worker.Structured;

/// <summary>
/// JSON Schemas of requests (tool parameters, response formats) built once and reused: agents send the same tools with
/// every turn, and building a schema costs far more than checking an answer against it.
/// </summary>
/// <remarks>
/// Each schema is built with a registry of its own: JsonSchema.Net registers every built schema, and the global registry
/// would otherwise keep every schema any request ever sent. A remote <c>$ref</c> is never fetched (no fetcher is set), so
/// a request cannot make the worker call a URL.
/// </remarks>
public static class Schemas
{
    /// <summary>How many distinct schemas are kept; past it the cache starts over (a new build is cheap, a leak is not).</summary>
    internal const int MaxCached = 2_000;

    private static readonly ConcurrentDictionary<string, JsonSchema> Cache = new(StringComparer.Ordinal);

    /// <summary>Builds <paramref name="schema"/>, or says why it is not a JSON Schema.</summary>
    public static JsonSchema? TryBuild(JsonElement schema, out string? problem)
    {
        problem = null;
        if (schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
        {
            problem = $"a JSON Schema is an object, not {Describe(schema.ValueKind)}";
            return null;
        }

        var key = schema.GetRawText();
        if (Cache.TryGetValue(key, out var cached))
            return cached;
        try
        {
            var built = JsonSchema.Build(schema, new BuildOptions { SchemaRegistry = new SchemaRegistry() });
            if (Cache.Count >= MaxCached)
                Cache.Clear();
            Cache[key] = built;
            return built;
        }
        catch (Exception ex) when (ex is JsonSchemaException or JsonException or RefResolutionException or ArgumentException or InvalidOperationException)
        {
            problem = ex.Message;
            return null;
        }
    }

    /// <summary>
    /// Checks <paramref name="value"/> against <paramref name="schema"/>; null when valid, else the first few problems, each
    /// with where in the value it is (<c>/lead/email: required: ...</c>).
    /// </summary>
    public static string? Check(JsonSchema schema, JsonElement value)
    {
        EvaluationResults results;
        try
        {
            results = schema.Evaluate(value, new EvaluationOptions { OutputFormat = OutputFormat.List });
        }
        catch (Exception ex) when (ex is JsonSchemaException or RefResolutionException or InvalidOperationException)
        {
            return $"the schema could not be applied: {ex.Message}";
        }

        if (results.IsValid)
            return null;
        var problems = (results.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{(d.InstanceLocation.ToString() is { Length: > 0 } at ? at : "/")}: {e.Key}: {e.Value}"))
            .Distinct()
            .Take(3)
            .ToList();
        return problems.Count > 0 ? string.Join("; ", problems) : "it does not satisfy the schema";
    }

    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Undefined => "missing",
        JsonValueKind.Null => "null",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Array => "an array",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "an object",
    };
}
