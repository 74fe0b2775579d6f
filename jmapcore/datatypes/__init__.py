"""The generic engine behind the standard JMAP methods (RFC 8620 §5).

- orm.py: JmapObject, the abstract model every cached object type inherits;
- base.py: DataType, what a type declares (properties, filters, sorts, hooks);
- standard.py: /get, /changes, /set, /query, /queryChanges for any DataType,
  and register_standard_methods().

This package's __init__ imports nothing so that jmapcore.state can use orm.py.
"""
