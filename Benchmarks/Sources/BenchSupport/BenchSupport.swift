// Helpers shared by the benchmarks: the `bench=<name> key=value...` line and duration arithmetic.
import Foundation
import Mesos

public func line(_ name: String, _ fields: KeyValuePairs<String, Any>) {
    var text = "bench=\(name)"
    for (key, value) in fields {
        switch value {
        case let number as Double: text += " \(key)=\(String(format: number < 10 ? "%.3f" : "%.1f", number))"
        default: text += " \(key)=\(value)"
        }
    }
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

public func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

public func milliseconds(_ duration: Duration) -> Double { seconds(duration) * 1000 }

public func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}

/// A framework as the benchmarks subscribe it: user root, the given name.
public func framework(_ name: String) -> FrameworkInfo {
    var info = FrameworkInfo()
    info.user = "root"
    info.name = name
    return info
}
