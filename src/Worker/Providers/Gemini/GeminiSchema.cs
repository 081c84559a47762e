using System.Text.Json;
using System.Text.Json.Nodes;

namespace Worker.Providers.Gemini;

/// <summary>
/// A JSON Schema translated to Gemini's <c>Schema</c> object (a subset of OpenAPI 3.0), or why it cannot be.
/// </summary>
/// <param name="Schema">The Gemini schema; null with no <paramref name="Refusal"/> for tool parameters that take no
/// arguments (Gemini rejects an OBJECT without properties, so such a tool declares no parameters at all).</param>
/// <param name="Refusal">Why Gemini cannot be given this schema, in a sentence naming the keyword.</param>
internal sealed record GeminiSchemaConversion(JsonObject? Schema, string? Refusal);

/// <summary>
/// Converts JSON Schema to the classic Gemini <c>Schema</c> dialect (<c>parameters</c>, <c>responseSchema</c>), which
/// every Gemini model accepts; newer models also take full JSON Schema (<c>parametersJsonSchema</c>,
/// <c>responseJsonSchema</c>), older ones do not.
/// </summary>
/// <remarks>
/// The chain validates every answer against the original schema, so a keyword can be dropped when dropping it cannot make
/// Gemini's decoding produce what the schema forbids in practice (annotations, <c>additionalProperties: false</c>: Gemini
/// only emits declared properties). A keyword that constrains values and has no Gemini form is refused instead: sending a
/// looser schema would buy a call whose answer is likely to fail validation, while a refusal skips the step for free.
/// </remarks>
internal static class GeminiSchema
{
    // Constrain what is valid and have no Gemini form.
    private static readonly string[] Unsupported =
    [
        "oneOf", "allOf", "not", "if", "then", "else", "patternProperties", "propertyNames", "dependentRequired",
        "dependentSchemas", "dependencies", "prefixItems", "contains", "minContains", "maxContains", "uniqueItems",
        "unevaluatedItems", "multipleOf", "exclusiveMinimum", "exclusiveMaximum", "$dynamicRef", "$recursiveRef",
    ];

    // Copied as they are: Gemini's Schema has the same keyword with the same meaning.
    private static readonly string[] Copied =
    [
        "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties", "minimum", "maximum", "pattern",
    ];

    // Gemini documents these formats (int32/int64, float/double, date-time...); other formats are annotations in JSON
    // Schema and some make Gemini answer 400, so they are left out.
    private static readonly HashSet<string> Formats = new(StringComparer.Ordinal)
    {
        "int32", "int64", "float", "double", "date-time", "date", "time",
    };

    private static readonly Dictionary<string, string> Types = new(StringComparer.Ordinal)
    {
        ["string"] = "STRING", ["integer"] = "INTEGER", ["number"] = "NUMBER", ["boolean"] = "BOOLEAN",
        ["array"] = "ARRAY", ["object"] = "OBJECT",
    };

    /// <summary>Converts a response schema (<c>generationConfig.responseSchema</c>).</summary>
    public static GeminiSchemaConversion Convert(JsonElement schema) => new Converter(schema, parametersRoot: false).Run();

    /// <summary>Converts a tool's parameters; an object without properties becomes "no parameters".</summary>
    public static GeminiSchemaConversion ConvertParameters(JsonElement schema) => new Converter(schema, parametersRoot: true).Run();

    /// <summary>Thrown inside a conversion to abandon it with a reason; never escapes <see cref="Converter.Run"/>.</summary>
    private sealed class RefusedException(string reason) : Exception(reason);

    private sealed class Converter(JsonElement root, bool parametersRoot)
    {
        private readonly HashSet<string> _expanding = new(StringComparer.Ordinal) { "#" };

        public GeminiSchemaConversion Run()
        {
            try
            {
                var schema = Schema(root, "#");
                return parametersRoot && IsEmptyObject(schema) ? new(null, null) : new(schema, null);
            }
            catch (RefusedException refused)
            {
                return new(null, refused.Message);
            }
        }

        private JsonObject Schema(JsonElement schema, string at)
        {
            if (schema.ValueKind != JsonValueKind.Object)
            {
                throw Refuse(schema.ValueKind is JsonValueKind.True or JsonValueKind.False
                    ? $"the schema uses a boolean schema ({schema.GetRawText()}) at {at}, which Gemini's schema subset lacks"
                    : $"the schema has a {schema.ValueKind} where a schema belongs at {at}");
            }

            foreach (var keyword in Unsupported)
            {
                if (schema.TryGetProperty(keyword, out _))
                    throw Lacks($"'{keyword}'", at);
            }

            foreach (var keyword in (ReadOnlySpan<string>)["additionalProperties", "unevaluatedProperties"])
            {
                // false, true and {} only say "no other properties" or "any": Gemini emits declared properties only.
                if (schema.TryGetProperty(keyword, out var extra) && extra.ValueKind == JsonValueKind.Object && extra.EnumerateObject().Any())
                    throw Lacks($"'{keyword}' as a schema", at);
            }

            var result = new JsonObject();
            Type(schema, result, at);
            Annotations(schema, result);
            Values(schema, result, at);
            Structure(schema, result, at);

            if (schema.TryGetProperty("$ref", out var reference))
                result = Merge(Reference(reference, at), result, at);

            if (schema.TryGetProperty("anyOf", out var anyOf))
                result = AnyOf(anyOf, result, at);

            if (!result.ContainsKey("type") && !result.ContainsKey("anyOf"))
                result.Insert(0, "type", InferredType(result, at));

            // Gemini rejects an OBJECT without properties; only a tool's parameters can say "none" (by leaving them out).
            if (IsEmptyObject(result) && !(parametersRoot && at == "#"))
                throw Lacks("an object without 'properties' (a free-form object)", at);

            return result;
        }

        private static void Type(JsonElement schema, JsonObject result, string at)
        {
            if (!schema.TryGetProperty("type", out var type))
                return;

            List<string> names = type.ValueKind switch
            {
                JsonValueKind.String => [type.GetString()!],
                JsonValueKind.Array => type.EnumerateArray().Select(t => t.GetString() ?? "").ToList(),
                _ => throw Refuse($"the schema has a 'type' that is neither a name nor a list at {at}"),
            };
            var nonNull = names.Where(n => n != "null").Distinct().ToList();
            if (nonNull.Count > 1)
                throw Lacks($"a type list with two non-null types ({string.Join(", ", nonNull)})", at);
            if (nonNull.Count == 0)
                throw Lacks("the type 'null' alone", at);
            if (!Types.TryGetValue(nonNull[0], out var gemini))
                throw Refuse($"the schema has an unknown type '{nonNull[0]}' at {at}");

            result["type"] = gemini;
            if (nonNull.Count < names.Count)
                result["nullable"] = true;
        }

        private static void Annotations(JsonElement schema, JsonObject result)
        {
            foreach (var keyword in (ReadOnlySpan<string>)["title", "description"])
            {
                if (schema.TryGetProperty(keyword, out var text) && text.ValueKind == JsonValueKind.String)
                    result[keyword] = text.GetString();
            }

            if (schema.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.String && Formats.Contains(format.GetString()!))
                result["format"] = format.GetString();
            // OpenAPI's own nullable, for schemas written in that dialect already.
            if (schema.TryGetProperty("nullable", out var nullable) && nullable.ValueKind == JsonValueKind.True)
                result["nullable"] = true;
        }

        private static void Values(JsonElement schema, JsonObject result, string at)
        {
            // Gemini's enum holds strings only; null among the values is what nullable says.
            List<JsonElement>? values = null;
            if (schema.TryGetProperty("enum", out var enumValues) && enumValues.ValueKind == JsonValueKind.Array)
                values = [.. enumValues.EnumerateArray()];
            if (schema.TryGetProperty("const", out var constValue))
                values = [constValue];
            if (values is null)
                return;

            if (values.Any(v => v.ValueKind is not (JsonValueKind.String or JsonValueKind.Null)))
                throw Lacks($"'{(schema.TryGetProperty("const", out _) ? "const" : "enum")}' with a value that is not a string", at);
            var strings = values.Where(v => v.ValueKind == JsonValueKind.String).Select(v => (JsonNode?)v.GetString()).ToArray();
            if (strings.Length == 0)
                throw Lacks("'enum' without a string value", at);

            result["enum"] = new JsonArray(strings);
            if (strings.Length < values.Count)
                result["nullable"] = true;
        }

        private void Structure(JsonElement schema, JsonObject result, string at)
        {
            foreach (var keyword in Copied)
            {
                if (schema.TryGetProperty(keyword, out var value) && value.ValueKind is JsonValueKind.Number or JsonValueKind.String)
                    result[keyword] = JsonValue.Create(value.Clone()); // a copy: the caller may dispose its document
            }

            if (schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
            {
                var converted = new JsonObject();
                foreach (var property in properties.EnumerateObject())
                    converted[property.Name] = Schema(property.Value, $"{at}/properties/{property.Name}");
                result["properties"] = converted;
            }

            foreach (var keyword in (ReadOnlySpan<string>)["required", "propertyOrdering"])
            {
                if (schema.TryGetProperty(keyword, out var names) && names.ValueKind == JsonValueKind.Array)
                    result[keyword] = new JsonArray(names.EnumerateArray().Where(n => n.ValueKind == JsonValueKind.String).Select(n => (JsonNode?)n.GetString()).ToArray());
            }

            if (schema.TryGetProperty("items", out var items))
            {
                if (items.ValueKind == JsonValueKind.Array)
                    throw Lacks("'items' as a list (a tuple)", at);
                result["items"] = Schema(items, $"{at}/items");
            }
        }

        private JsonObject Reference(JsonElement reference, string at)
        {
            var target = reference.GetString() ?? "";
            if (!target.StartsWith('#'))
                throw Lacks($"a '$ref' to another document ({target})", at);
            if (!_expanding.Add(target))
                throw Lacks($"a recursive '$ref' ({target})", at);

            var schema = Resolve(target) ?? throw Refuse($"the schema has a '$ref' ({target}) that points nowhere at {at}");
            var converted = Schema(schema, target);
            _expanding.Remove(target);
            return converted;
        }

        /// <summary>Follows a JSON Pointer fragment (<c>#/$defs/Address</c>) from the root.</summary>
        private JsonElement? Resolve(string target)
        {
            var current = root;
            foreach (var raw in target[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                var segment = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
                if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(segment, out var next))
                    current = next;
                else if (current.ValueKind == JsonValueKind.Array && int.TryParse(segment, out var index) && index >= 0 && index < current.GetArrayLength())
                    current = current[index];
                else
                    return null;
            }

            return current;
        }

        /// <summary>
        /// <c>anyOf</c> as Gemini has it; a <c>{"type": "null"}</c> branch becomes nullable, and a single branch left (the
        /// usual <c>Optional[X]</c>) is merged in rather than kept as a one-branch anyOf.
        /// </summary>
        private JsonObject AnyOf(JsonElement anyOf, JsonObject result, string at)
        {
            if (anyOf.ValueKind != JsonValueKind.Array)
                throw Refuse($"the schema has an 'anyOf' that is not a list at {at}");

            var branches = anyOf.EnumerateArray().ToList();
            var nonNull = branches.Where(b => !IsNullSchema(b)).ToList();
            if (nonNull.Count == 0)
                throw Lacks("'anyOf' of null alone", at);

            if (nonNull.Count == 1)
            {
                result = Merge(Schema(nonNull[0], $"{at}/anyOf/{branches.IndexOf(nonNull[0])}"), result, at);
            }
            else
            {
                var converted = new JsonArray();
                for (var i = 0; i < branches.Count; i++)
                {
                    if (!IsNullSchema(branches[i]))
                        converted.Add(Schema(branches[i], $"{at}/anyOf/{i}"));
                }

                result["anyOf"] = converted;
            }

            if (nonNull.Count < branches.Count)
                result["nullable"] = true;
            return result;
        }

        private static bool IsNullSchema(JsonElement schema) =>
            schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("type", out var type)
            && type.ValueKind == JsonValueKind.String && type.GetString() == "null";

        /// <summary>
        /// A referenced (or single anyOf) schema with the referring schema's own keywords: its title and description are
        /// the more specific ones and win; any other keyword both set would need both to hold, which one schema cannot say.
        /// </summary>
        private static JsonObject Merge(JsonObject inner, JsonObject outer, string at)
        {
            foreach (var (key, value) in outer.ToList())
            {
                if (!inner.ContainsKey(key) || key is "title" or "description")
                {
                    outer.Remove(key);
                    inner[key] = value;
                }
                else if (key == "nullable")
                {
                    inner[key] = true;
                }
                else if (!JsonNode.DeepEquals(inner[key], value))
                {
                    throw Lacks($"'{key}' both beside a '$ref' or 'anyOf' and in its target", at);
                }
            }

            return inner;
        }

        private static string InferredType(JsonObject result, string at) =>
            result.ContainsKey("properties") ? "OBJECT"
            : result.ContainsKey("items") ? "ARRAY"
            : result.ContainsKey("enum") ? "STRING"
            : throw Lacks("a schema without a 'type' (any value)", at);

        private static bool IsEmptyObject(JsonObject schema) =>
            schema["type"]?.GetValue<string>() == "OBJECT"
            && (schema["properties"] is not JsonObject properties || properties.Count == 0);

        private static RefusedException Lacks(string what, string at) =>
            new($"the schema uses {what} at {at}, which Gemini's schema subset lacks");

        private static RefusedException Refuse(string reason) => new(reason);
    }
}
