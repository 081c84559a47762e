using System.Text.Json.Nodes;
using Worker.Simulator.Faults;

namespace Worker.Simulator.Structured;

/// <summary>A tool a request offers: its name and the JSON schema of its arguments (null when it takes none).</summary>
internal sealed record OfferedTool(string Name, JsonNode? Schema);

/// <summary>
/// What a request asks of the answer's shape, read by each wire from its own fields, so that the three wires decide
/// alike: a tool call when tools are offered, not switched off, and the conversation does not end with a tool result;
/// else JSON when JSON is asked; else text.
/// </summary>
/// <param name="ToolsDisabled">Tool choice none (OpenAI <c>"none"</c>, Gemini mode NONE, Anthropic type none).</param>
/// <param name="ForcedTool">The tool the request forces, or null to call the first one.</param>
/// <param name="AfterToolResult">The last message hands back a tool result: the model now answers in words (or JSON).</param>
/// <param name="JsonSchema">The schema of the JSON asked for; null for JSON without a schema (OpenAI json_object).</param>
/// <param name="CallRequired">Some tool must be called (OpenAI "required", Gemini mode ANY, Anthropic type any), even after a
/// tool result: then the first tool the conversation has not called yet is called (clients offer their answer as a tool
/// this way).</param>
/// <param name="Called">The tools the conversation's earlier turns called.</param>
internal sealed record StructuredAsk(
    IReadOnlyList<OfferedTool> Tools, bool ToolsDisabled, string? ForcedTool, bool AfterToolResult, bool WantsJson, JsonNode? JsonSchema,
    bool CallRequired = false, IReadOnlySet<string>? Called = null)
{
    /// <summary>A request that asks for nothing but text.</summary>
    public static StructuredAsk PlainText { get; } = new([], false, null, false, false, null);

    /// <summary>The tool the answer calls, or null when the answer is not a tool call.</summary>
    public OfferedTool? ToolToCall =>
        Tools.Count == 0 || ToolsDisabled ? null
        : ForcedTool is not null ? Tools.FirstOrDefault(t => t.Name == ForcedTool) ?? new OfferedTool(ForcedTool, null)
        : AfterToolResult && !CallRequired ? null
        : Tools.FirstOrDefault(t => Called?.Contains(t.Name) != true) ?? Tools[0];

    /// <summary>The answer is JSON text.</summary>
    public bool AnswersJson => ToolToCall is null && WantsJson;
}

/// <summary>The parts of a tool-call or JSON answer that every wire writes the same way.</summary>
internal static class StructuredReply
{
    /// <summary>The tool a <c>bad_tool_call</c> calls: never offered.</summary>
    public const string UnknownTool = "unknown_tool";

    /// <summary>The prose a chatty model puts where JSON was asked (<c>invalid_json</c>).</summary>
    public const string InvalidJsonText = "Sure! Here is the JSON: {\"answer\":";

    /// <summary>The arguments of a call of <paramref name="tool"/>: its schema-shaped sample, short of a required property on <c>schema_mismatch</c>.</summary>
    public static JsonNode Arguments(OfferedTool tool, Fault fault) =>
        fault == Fault.SchemaMismatch ? SchemaSample.Mismatching(tool.Schema) : SchemaSample.Of(tool.Schema);

    /// <summary>
    /// The text of a JSON answer: the schema-shaped sample (<c>{"answer": reply}</c> without a schema), prose for
    /// <c>invalid_json</c>, the sample short of a required property for <c>schema_mismatch</c>, and for
    /// <c>truncated_json</c> its first half, which the caller sends with the wire's out-of-tokens finish reason.
    /// </summary>
    public static string JsonText(StructuredAsk ask, Fault fault, string reply)
    {
        var json = (ask.JsonSchema is null ? new JsonObject { ["answer"] = reply }
            : fault == Fault.SchemaMismatch ? SchemaSample.Mismatching(ask.JsonSchema)
            : SchemaSample.Of(ask.JsonSchema)).ToJsonString();
        return fault switch
        {
            Fault.InvalidJson => InvalidJsonText,
            Fault.TruncatedJson => Cut(json),
            _ => json,
        };
    }

    /// <summary>The first half of <paramref name="text"/>: an answer the output budget cut short.</summary>
    public static string Cut(string text) => text[..(text.Length / 2)];
}
