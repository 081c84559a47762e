using System.Text.Json;
using System.Text.Json.Nodes;

namespace Worker.Simulator.Structured;

/// <summary>
/// A deterministic value shaped like a JSON schema, the one helper behind tool arguments and JSON answers on every wire,
/// so a test can predict what a "model" fills in: objects get all their properties, strings <c>"sample"</c> (or their
/// first enum value, or a value of their format), integers 1, numbers 1.5, booleans true, arrays one item. Reads JSON
/// Schema as OpenAI and Anthropic send it and Gemini's OpenAPI subset (upper-case types such as <c>OBJECT</c>); follows
/// local <c>$ref</c>s and takes the first branch of <c>anyOf</c>/<c>oneOf</c>.
/// </summary>
internal static class SchemaSample
{
    private const string SampleString = "sample";

    // Self-referencing schemas (a tree node whose children are nodes) would otherwise recurse for ever.
    private const int MaxDepth = 8;

    /// <summary>The sample of <paramref name="schema"/>; an empty object when there is no schema (a tool without parameters).</summary>
    public static JsonNode Of(JsonNode? schema) => schema is null ? new JsonObject() : Sample(schema, schema, 0) ?? new JsonObject();

    /// <summary>
    /// The sample without the first required property (<c>schema_mismatch</c>); when the schema requires nothing, its
    /// first property gets a value of the wrong type, so the result breaks the schema either way.
    /// </summary>
    public static JsonNode Mismatching(JsonNode? schema)
    {
        if (Of(schema) is not JsonObject sample)
            return WrongType(Of(schema));
        var required = Required(Resolve(schema, schema));
        if (required.Count > 0)
            sample.Remove(required[0]);
        else if (sample.FirstOrDefault() is { Key: not null } first)
            sample[first.Key] = WrongType(first.Value);
        return sample;
    }

    /// <summary>The sample without any of its required properties: the input of a botched Anthropic tool_use.</summary>
    public static JsonObject WithoutRequired(JsonNode? schema)
    {
        var sample = Of(schema) as JsonObject ?? new JsonObject();
        foreach (var name in Required(Resolve(schema, schema)))
            sample.Remove(name);
        return sample;
    }

    /// <summary>The names a schema lists under <c>required</c>.</summary>
    public static IReadOnlyList<string> Required(JsonNode? schema) =>
        schema is JsonObject o && o["required"] is JsonArray names
            ? [.. names.Select(Text).OfType<string>()]
            : [];

    /// <summary>The string a node holds, or null when it holds anything else.</summary>
    public static string? Text(JsonNode? node) => node?.GetValueKind() == JsonValueKind.String ? (string?)node : null;

    private static JsonNode WrongType(JsonNode? value) =>
        value?.GetValueKind() == JsonValueKind.String ? JsonValue.Create(0) : JsonValue.Create("not the expected type");

    private static JsonNode? Sample(JsonNode root, JsonNode? schema, int depth)
    {
        schema = Resolve(root, schema);
        if (schema is not JsonObject s || depth > MaxDepth)
            return null;
        if (s["const"] is { } constant)
            return constant.DeepClone();
        if (s["enum"] is JsonArray { Count: > 0 } values)
            return values[0]?.DeepClone();
        foreach (var union in (ReadOnlySpan<string>)["anyOf", "oneOf"])
        {
            if (s[union] is JsonArray { Count: > 0 } branches)
                return Sample(root, branches.FirstOrDefault(b => TypeOf(Resolve(root, b)) != "null") ?? branches[0], depth + 1);
        }
        if (s["allOf"] is JsonArray { Count: > 0 } all)
            return Sample(root, all[0], depth + 1);

        return TypeOf(s) switch
        {
            "object" => ObjectSample(root, s, depth),
            "array" => new JsonArray(Sample(root, s["items"], depth + 1) ?? JsonValue.Create(SampleString)),
            "string" => JsonValue.Create(StringSample(s)),
            "integer" => JsonValue.Create(Math.Max(1L, Minimum(s) is { } min ? (long)Math.Ceiling(min) : 1L)),
            "number" => JsonValue.Create(Math.Max(1.5, Minimum(s) ?? 1.5)),
            "boolean" => JsonValue.Create(true),
            "null" => null,
            _ => JsonValue.Create(SampleString),
        };
    }

    private static JsonObject ObjectSample(JsonNode root, JsonObject schema, int depth)
    {
        var value = new JsonObject();
        if (schema["properties"] is JsonObject properties)
        {
            foreach (var (name, property) in properties)
                value[name] = Sample(root, property, depth + 1);
        }
        return value;
    }

    /// <summary>Lower-case type name; the first non-null one of a type list; inferred from properties or items when absent.</summary>
    private static string? TypeOf(JsonNode? schema)
    {
        if (schema is not JsonObject s)
            return null;
        var type = s["type"] switch
        {
            JsonValue v => Text(v),
            JsonArray list => list.Select(Text).FirstOrDefault(t => t is not null && !t.Equals("null", StringComparison.OrdinalIgnoreCase))
                ?? Text(list.FirstOrDefault()),
            _ => null,
        };
        if (type is not null)
            return type.ToLowerInvariant();
        return s.ContainsKey("properties") ? "object" : s.ContainsKey("items") ? "array" : null;
    }

    private static string StringSample(JsonObject schema) => Text(schema["format"]) switch
    {
        "date-time" => "2026-01-01T00:00:00Z",
        "date" => "2026-01-01",
        "time" => "00:00:00",
        "email" => "sample@example.com",
        "uri" or "url" => "https://example.com/sample",
        "uuid" => "00000000-0000-4000-8000-000000000000",
        _ => SampleString,
    };

    private static double? Minimum(JsonObject schema) =>
        schema["minimum"] is JsonValue v && v.TryGetValue<double>(out var min) ? min : null;

    /// <summary>Follows a local <c>$ref</c> (<c>#/$defs/X</c>, <c>#/definitions/X</c>) from the root schema.</summary>
    private static JsonNode? Resolve(JsonNode? root, JsonNode? schema)
    {
        for (var hops = 0; hops < MaxDepth && schema is JsonObject s && Text(s["$ref"]) is { } reference; hops++)
        {
            if (!reference.StartsWith("#/", StringComparison.Ordinal))
                return null;
            JsonNode? target = root;
            foreach (var segment in reference[2..].Split('/'))
                target = target is JsonObject o ? o[segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)] : null;
            schema = target;
        }
        return schema;
    }
}
