using System.Text;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>One span as OTLP carried it (the fields the tests read). Ids are lower-case hex; a root has an empty parent.</summary>
public sealed record OtlpSpan(string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, OtlpSpanKind Kind,
    IReadOnlyDictionary<string, object> Attributes, OtlpStatusCode Status, IReadOnlyList<(string TraceId, string SpanId)> Links)
{
    public object? this[string key] => Attributes.GetValueOrDefault(key);

    public override string ToString() => $"{Scope} '{Name}' {Kind} {SpanId} <- {(ParentSpanId.Length == 0 ? "(root)" : ParentSpanId)}";
}

public enum OtlpSpanKind { Unspecified, Internal, Server, Client, Producer, Consumer }

public enum OtlpStatusCode { Unset, Ok, Error }

/// <summary>
/// A reader of the few OTLP protobuf messages the tests need (opentelemetry/proto, collector/trace/v1 and metrics/v1),
/// written against the protobuf wire format: ExportTraceServiceRequest down to spans, ExportMetricsServiceRequest down
/// to metric names. Unknown fields are skipped, as protobuf requires.
/// </summary>
public static class OtlpWire
{
    /// <summary>ExportTraceServiceRequest: resource_spans(1) → scope_spans(2) → scope(1).name(1), spans(2).</summary>
    public static List<OtlpSpan> ReadSpans(ReadOnlySpan<byte> request)
    {
        var spans = new List<OtlpSpan>();
        foreach (var resourceSpans in Messages(request, 1))
        foreach (var scopeSpans in Messages(resourceSpans.Span, 2))
        {
            var scope = Messages(scopeSpans.Span, 1).Select(s => Strings(s.Span, 1).FirstOrDefault()).FirstOrDefault() ?? "";
            foreach (var span in Messages(scopeSpans.Span, 2))
                spans.Add(Span(scope, span.Span));
        }

        return spans;
    }

    /// <summary>ExportMetricsServiceRequest: resource_metrics(1) → scope_metrics(2) → metrics(2).name(1).</summary>
    public static List<string> ReadMetricNames(ReadOnlySpan<byte> request)
    {
        var names = new List<string>();
        foreach (var resourceMetrics in Messages(request, 1))
        foreach (var scopeMetrics in Messages(resourceMetrics.Span, 2))
        foreach (var metric in Messages(scopeMetrics.Span, 2))
            names.AddRange(Strings(metric.Span, 1));
        return names;
    }

    /// <summary>The resource attributes of each resource_spans or resource_metrics (field 1 of both, resource(1).attributes(1)).</summary>
    public static List<Dictionary<string, object>> ReadResources(ReadOnlySpan<byte> request)
    {
        var resources = new List<Dictionary<string, object>>();
        foreach (var resourceX in Messages(request, 1))
        foreach (var resource in Messages(resourceX.Span, 1))
            resources.Add(Attributes(resource.Span, 1));
        return resources;
    }

    private static OtlpSpan Span(string scope, ReadOnlySpan<byte> span)
    {
        // Span: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, attributes 9, links 13, status 15 (message 2, code 3).
        var links = new List<(string, string)>();
        foreach (var link in Messages(span, 13))
            links.Add((Hex(Bytes(link.Span, 1)), Hex(Bytes(link.Span, 2))));
        var status = OtlpStatusCode.Unset;
        foreach (var s in Messages(span, 15))
            status = (OtlpStatusCode)(int)Varints(s.Span, 3).LastOrDefault();
        return new OtlpSpan(scope, Hex(Bytes(span, 1)), Hex(Bytes(span, 2)), Hex(Bytes(span, 4)), Strings(span, 5).FirstOrDefault() ?? "",
            (OtlpSpanKind)(int)Varints(span, 6).LastOrDefault(), Attributes(span, 9), status, links);
    }

    /// <summary>KeyValue (key 1, value 2) fields as a dictionary; AnyValue: string 1, bool 2, int 3, double 4, array 5.</summary>
    private static Dictionary<string, object> Attributes(ReadOnlySpan<byte> message, int field)
    {
        var attributes = new Dictionary<string, object>();
        foreach (var kv in Messages(message, field))
        {
            var key = Strings(kv.Span, 1).FirstOrDefault() ?? "";
            foreach (var value in Messages(kv.Span, 2))
            {
                if (Value(value.Span) is { } v)
                    attributes[key] = v;
            }
        }

        return attributes;
    }

    private static object? Value(ReadOnlySpan<byte> any)
    {
        object? value = null;
        var reader = new Reader(any);
        while (reader.Next(out var field, out var wire))
        {
            value = (field, wire) switch
            {
                (1, 2) => Encoding.UTF8.GetString(reader.LengthDelimited()),
                (2, 0) => reader.Varint() != 0,
                (3, 0) => (long)reader.Varint(),
                (4, 1) => BitConverter.Int64BitsToDouble((long)reader.Fixed64()),
                (5, 2) => Array(reader.LengthDelimited()),
                _ => Skip(ref reader, wire),
            };
        }

        return value;

        static object[] Array(ReadOnlySpan<byte> array)
        {
            var values = new List<object>();
            foreach (var v in Messages(array, 1))
            {
                if (Value(v.Span) is { } item)
                    values.Add(item);
            }

            return [.. values];
        }
    }

    private static object? Skip(ref Reader reader, int wire)
    {
        reader.Skip(wire);
        return null;
    }

    private static List<ReadOnlyMemory<byte>> Messages(ReadOnlySpan<byte> message, int field)
    {
        var found = new List<ReadOnlyMemory<byte>>();
        var reader = new Reader(message);
        while (reader.Next(out var f, out var wire))
        {
            if (f == field && wire == 2)
                found.Add(reader.LengthDelimited().ToArray());
            else
                reader.Skip(wire);
        }

        return found;
    }

    private static IEnumerable<string> Strings(ReadOnlySpan<byte> message, int field) =>
        Messages(message, field).Select(m => Encoding.UTF8.GetString(m.Span)).ToList();

    private static byte[] Bytes(ReadOnlySpan<byte> message, int field) =>
        Messages(message, field).Select(m => m.ToArray()).LastOrDefault() ?? [];

    private static List<ulong> Varints(ReadOnlySpan<byte> message, int field)
    {
        var found = new List<ulong>();
        var reader = new Reader(message);
        while (reader.Next(out var f, out var wire))
        {
            if (f == field && wire == 0)
                found.Add(reader.Varint());
            else
                reader.Skip(wire);
        }

        return found;
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>The protobuf wire format: a tag (field number, wire type) then a varint, a fixed64, a length-delimited run or a fixed32.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _at;

        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (_at >= _data.Length)
                return false;
            var tag = Varint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = _data[_at++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                    return value;
            }
        }

        public ulong Fixed64()
        {
            var value = BitConverter.ToUInt64(_data.Slice(_at, 8));
            _at += 8;
            return value;
        }

        public ReadOnlySpan<byte> LengthDelimited()
        {
            var length = (int)Varint();
            var run = _data.Slice(_at, length);
            _at += length;
            return run;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: _at += 8; break;
                case 2: LengthDelimited(); break;
                case 5: _at += 4; break;
                default: throw new InvalidDataException($"protobuf wire type {wire} is not used by OTLP");
            }
        }
    }
}
