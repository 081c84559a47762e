using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Simulator.Structured;

namespace Worker.Simulator.Gemini;

/// <summary>Reads the tools, toolConfig and JSON response settings of a generateContent request.</summary>
internal static class GeminiStructured
{
    /// <param name="afterToolResult">The last content carries a functionResponse part.</param>
    public static StructuredAsk Read(JsonElement root, bool afterToolResult)
    {
        // tools: [{"functionDeclarations": [{"name", "description", "parameters" | "parametersJsonSchema"}]}].
        var tools = new List<OfferedTool>();
        foreach (var declaration in Items(root, "tools").SelectMany(tool => Items(tool, "functionDeclarations")))
        {
            if (declaration.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
                tools.Add(new OfferedTool(name.GetString()!, Node(declaration, "parameters") ?? Node(declaration, "parametersJsonSchema")));
        }

        // toolConfig.functionCallingConfig: mode AUTO | ANY | NONE | VALIDATED, allowedFunctionNames with ANY.
        string? mode = null, forced = null;
        if (Object(root, "toolConfig") is { } toolConfig && Object(toolConfig, "functionCallingConfig") is { } calling)
        {
            mode = calling.TryGetProperty("mode", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            if (string.Equals(mode, "ANY", StringComparison.OrdinalIgnoreCase))
                forced = Elements(calling, "allowedFunctionNames").Where(n => n.ValueKind == JsonValueKind.String).Select(n => n.GetString()).FirstOrDefault();
        }

        // generationConfig: responseMimeType "application/json" with responseSchema (OpenAPI subset) or responseJsonSchema.
        var config = Object(root, "generationConfig");
        var wantsJson = config is { } c && c.TryGetProperty("responseMimeType", out var mime)
            && mime.ValueKind == JsonValueKind.String && mime.ValueEquals("application/json");
        var schema = config is { } g ? Node(g, "responseSchema") ?? Node(g, "responseJsonSchema") : null;

        var called = Items(root, "contents").SelectMany(content => Items(content, "parts"))
            .Select(part => Object(part, "functionCall") is { } call && call.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null)
            .OfType<string>().ToHashSet(StringComparer.Ordinal);
        return new StructuredAsk(tools, string.Equals(mode, "NONE", StringComparison.OrdinalIgnoreCase), forced, afterToolResult, wantsJson, schema,
            CallRequired: string.Equals(mode, "ANY", StringComparison.OrdinalIgnoreCase), Called: called);
    }

    /// <summary>A content whose parts hand back a function's result.</summary>
    public static bool HasFunctionResponse(JsonElement content) =>
        Items(content, "parts").Any(part => part.TryGetProperty("functionResponse", out _));

    private static JsonElement? Object(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    /// <summary>The objects of an array property; anything else in it is ignored, not a crash.</summary>
    private static IEnumerable<JsonElement> Items(JsonElement parent, string name) =>
        Elements(parent, name).Where(item => item.ValueKind == JsonValueKind.Object);

    private static IEnumerable<JsonElement> Elements(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray()
            : [];

    private static JsonNode? Node(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? JsonNode.Parse(value.GetRawText()) : null;
}
