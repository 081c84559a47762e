using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Contracts;

namespace Worker.Providers;

/// <summary>
/// A JSON answer asked for as one more tool, for wires that cannot combine the request's tools with a JSON mode: Gemini
/// 2.x answers 400 "Function calling with a response mime type: 'application/json' is unsupported", and Anthropic has no
/// JSON mode at all. The model is offered a tool whose one argument is the answer, and must call a tool; calling the
/// request's own tools still comes back as tool calls, while a call of this one comes back as the answer's text (which
/// the chain then checks against the schema like any JSON answer). Backends never see the tool.
/// </summary>
internal static class AnswerTool
{
    /// <summary>The tool's name, unless the request offers a tool of that name already (then a number is added).</summary>
    public const string BaseName = "final_answer";

    private const string Argument = "answer";

    private const string Description =
        "Give your final answer by calling this function with the answer as its argument. Call it once you need no other tool.";

    /// <summary>
    /// Whether <paramref name="request"/> needs the answer tool on a wire without a JSON mode beside tools: it offers
    /// tools the model chooses among (no tool choice, or auto) and asks for JSON satisfying a schema.
    /// </summary>
    public static bool BesideTools(ProviderRequest request) =>
        request.Tools is { Count: > 0 }
        && request.ResponseFormat is { Type: ResponseFormatTypes.JsonSchema, Schema: { ValueKind: JsonValueKind.Object } }
        && (request.ToolChoice?.Mode ?? ToolChoiceModes.Auto) == ToolChoiceModes.Auto;

    /// <summary>The name the tool gets in <paramref name="request"/>: one no tool of the request has.</summary>
    public static string NameIn(ProviderRequest request)
    {
        var taken = request.Tools?.Select(t => t.Name).ToHashSet(StringComparer.Ordinal) ?? [];
        var name = BaseName;
        for (var i = 2; taken.Contains(name); i++)
            name = $"{BaseName}_{i}";
        return name;
    }

    /// <summary>
    /// The tool for <paramref name="format"/>: its parameters an object whose one required property, <c>answer</c>, is the
    /// format's schema (a tool's parameters must be an object; the answer need not be one).
    /// </summary>
    public static ToolDefinition For(ResponseFormat format, string name)
    {
        var parameters = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject { [Argument] = JsonNode.Parse(format.Schema!.Value.GetRawText()) },
            ["required"] = new JsonArray(Argument),
        };
        return new ToolDefinition(name, Description, JsonSerializer.SerializeToElement(parameters));
    }

    /// <summary>
    /// <paramref name="answer"/> with a call of the answer tool turned back into text: the call's <c>answer</c> argument,
    /// as JSON text, and no tool call. A call beside calls of the request's own tools is dropped: the model wants their
    /// results first, and will answer after them.
    /// </summary>
    public static ProviderSuccess Unwrap(ProviderSuccess answer, string name)
    {
        if (answer.ToolCalls?.FirstOrDefault(c => c.Name == name) is not { } call)
            return answer;
        var others = answer.ToolCalls.Where(c => c.Name != name).ToList();
        if (others.Count > 0)
            return answer with { ToolCalls = others };
        var value = call.Arguments.ValueKind == JsonValueKind.Object && call.Arguments.TryGetProperty(Argument, out var argument)
            ? argument
            : call.Arguments;
        return answer with { Text = value.GetRawText(), ToolCalls = null, Finish = FinishReasons.Stop };
    }
}
